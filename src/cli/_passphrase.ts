/**
 * Owner passphrases on the command line: from AGENT_VAULT_PASSPHRASE_FILE or a hidden prompt,
 * a new one checked for a minimum strength and asked twice (`init`, `passwd`).
 */
import { readFile, stat } from 'node:fs/promises';
import { UsageError } from '../errors.ts';
import { promptHidden } from './_prompt.ts';

export const PASSPHRASE_FILE_ENV = 'AGENT_VAULT_PASSPHRASE_FILE';

export const NO_TERMINAL =
  `Put the passphrase in a file (chmod 600) and set ${PASSPHRASE_FILE_ENV} to its path, or use a key-file vault (--key-file).`;

/** How many times a mistyped passphrase is asked again before the command gives up (as sudo does). */
export const PASSPHRASE_TRIES = 3;

/**
 * The floor, not a meter: Argon2id slows each guess to about half a second, which protects a
 * passphrase of a few words for centuries but a short or repetitive one only for hours.
 */
export const MIN_PASSPHRASE_CHARS = 12;
const MIN_DISTINCT_CHARS = 6;

/** A passphrase file holds an owner credential: like ssh with private keys, refuse a shared one. */
export async function readPassphraseFile(path: string, variable = PASSPHRASE_FILE_ENV): Promise<Uint8Array> {
  const info = await stat(path).catch((cause) => {
    throw new UsageError(`Cannot read ${variable} ${path} (${(cause as NodeJS.ErrnoException).code}). Check the path.`);
  });
  if (process.platform !== 'win32' && (info.mode & 0o077) !== 0) {
    throw new UsageError(`${variable} ${path} is readable by other users. Run: chmod 600 ${path}`);
  }
  const raw = await readFile(path);
  try {
    // One trailing newline is not part of the passphrase (editors and `echo` add it).
    let end = raw.length;
    if (raw[end - 1] === 0x0a) end -= 1;
    if (end < raw.length && raw[end - 1] === 0x0d) end -= 1;
    if (end === 0) throw new UsageError(`${variable} ${path} is empty.`);
    return Uint8Array.from(raw.subarray(0, end));
  } finally {
    raw.fill(0);
  }
}

/** Why `passphrase` is too weak to lock a vault, or undefined when it is strong enough. */
export function weakness(passphrase: string | Uint8Array): string | undefined {
  const text = typeof passphrase === 'string' ? passphrase : new TextDecoder().decode(passphrase);
  const chars = [...text];
  if (chars.length < MIN_PASSPHRASE_CHARS) return `it is shorter than ${MIN_PASSPHRASE_CHARS} characters`;
  if (new Set(chars).size < MIN_DISTINCT_CHARS) return 'it repeats too few different characters';
  return undefined;
}

/**
 * The passphrase for a new vault (or `passwd`): the file named by `fileVariable`, else asked twice;
 * refused when weak.
 */
export async function newPassphrase(what: 'created' | 'changed', fileVariable = PASSPHRASE_FILE_ENV): Promise<Uint8Array | string> {
  const file = process.env[fileVariable];
  const passphrase = file ? await readPassphraseFile(file, fileVariable) : await askTwice(what);
  const reason = weakness(passphrase);
  if (reason !== undefined) {
    if (passphrase instanceof Uint8Array) passphrase.fill(0);
    throw new UsageError(
      `That passphrase is too weak: ${reason}. Use at least ${MIN_PASSPHRASE_CHARS} characters; four or five ` +
        `random words are strong and easy to type. Nothing was ${what}.`,
    );
  }
  return passphrase;
}

async function askTwice(what: 'created' | 'changed'): Promise<string> {
  const first = await promptHidden('New vault passphrase:', NO_TERMINAL);
  if (first.length === 0) throw new UsageError(`The passphrase is empty. Choose a long passphrase; nothing was ${what}.`);
  const second = await promptHidden('Repeat the passphrase:', NO_TERMINAL);
  if (first !== second) throw new UsageError(`The two passphrases differ; nothing was ${what}. Run the command again.`);
  return first;
}
