/**
 * Finding the vault and unlocking it as its owner. The passphrase comes from
 * AGENT_VAULT_PASSPHRASE_FILE, else a hidden prompt on the terminal; `--key-file` replaces it
 * for vaults made with a key file (CI, tests).
 */
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { decodeHeader, HEADER_KEY, type Header } from '../_header.ts';
import { defaultVaultDir, fileBackend } from '../backends/file.ts';
import { initCrypto, wipe } from '../crypto.ts';
import { UsageError, VaultNotFoundError } from '../errors.ts';
import type { OwnerUnlock } from '../options.ts';
import { openVault, type Vault } from '../vault.ts';
import type { Context } from './_command.ts';
import { promptHidden } from './_prompt.ts';

export const PASSPHRASE_FILE_ENV = 'AGENT_VAULT_PASSPHRASE_FILE';

export interface VaultLocation {
  dir: string;
  /** How the directory was chosen, for `status`. */
  source: '--dir' | 'AGENT_VAULT_DIR' | 'found from the working directory' | 'default in the home directory' | 'new in the working directory';
}

/** The vault an existing-vault command works on: --dir, else the library's default. */
export function locateVault(context: Pick<Context, 'dir'>): VaultLocation {
  if (context.dir !== undefined) return { dir: resolve(context.dir), source: '--dir' };
  if (process.env.AGENT_VAULT_DIR) return { dir: resolve(process.env.AGENT_VAULT_DIR), source: 'AGENT_VAULT_DIR' };
  const dir = defaultVaultDir();
  return { dir, source: dir === join(homedir(), '.agent-vault') ? 'default in the home directory' : 'found from the working directory' };
}

/** Where `init` creates a vault: --dir, else AGENT_VAULT_DIR, else `.agent-vault/` right here. */
export function locateNewVault(context: Pick<Context, 'dir'>): VaultLocation {
  if (context.dir !== undefined) return { dir: resolve(context.dir), source: '--dir' };
  if (process.env.AGENT_VAULT_DIR) return { dir: resolve(process.env.AGENT_VAULT_DIR), source: 'AGENT_VAULT_DIR' };
  return { dir: resolve('.agent-vault'), source: 'new in the working directory' };
}

/**
 * The vault header, read without unlocking anything, so we can say "no vault here" or "this
 * vault wants a key file" before asking for a passphrase.
 */
export async function readHeader(dir: string): Promise<Header | undefined> {
  if (!existsSync(dir)) return undefined;
  const backend = fileBackend({ dir });
  try {
    const bytes = await backend.get(HEADER_KEY);
    if (!bytes) return undefined;
    await initCrypto();
    return decodeHeader(bytes);
  } finally {
    await backend.close?.();
  }
}

export function noVault(dir: string): VaultNotFoundError {
  return new VaultNotFoundError(
    `No vault in ${dir}. Create one with \`agent-vault init\`, or point --dir or AGENT_VAULT_DIR at the vault directory.`,
  );
}

/** A passphrase file holds an owner credential: like ssh with private keys, refuse a shared one. */
async function readPassphraseFile(path: string): Promise<Uint8Array> {
  const info = await stat(path).catch((cause) => {
    throw new UsageError(`Cannot read ${PASSPHRASE_FILE_ENV} ${path} (${(cause as NodeJS.ErrnoException).code}). Check the path.`);
  });
  if (process.platform !== 'win32' && (info.mode & 0o077) !== 0) {
    throw new UsageError(`${PASSPHRASE_FILE_ENV} ${path} is readable by other users. Run: chmod 600 ${path}`);
  }
  const raw = await readFile(path);
  try {
    // One trailing newline is not part of the passphrase (editors and `echo` add it).
    let end = raw.length;
    if (raw[end - 1] === 0x0a) end -= 1;
    if (end < raw.length && raw[end - 1] === 0x0d) end -= 1;
    if (end === 0) throw new UsageError(`${PASSPHRASE_FILE_ENV} ${path} is empty.`);
    return Uint8Array.from(raw.subarray(0, end));
  } finally {
    raw.fill(0);
  }
}

const NO_TERMINAL =
  `Put the passphrase in a file (chmod 600) and set ${PASSPHRASE_FILE_ENV} to its path, or use a key-file vault (--key-file).`;

/** The passphrase for a new vault: the file, else asked twice. */
export async function newPassphrase(): Promise<Uint8Array | string> {
  const file = process.env[PASSPHRASE_FILE_ENV];
  if (file) return readPassphraseFile(file);
  const first = await promptHidden('New vault passphrase:', NO_TERMINAL);
  if (first.length === 0) throw new UsageError('The passphrase is empty. Choose a long passphrase; nothing was created.');
  const second = await promptHidden('Repeat the passphrase:', NO_TERMINAL);
  if (first !== second) throw new UsageError('The two passphrases differ; nothing was created. Run init again.');
  return first;
}

/** How the owner unlocks the vault in `dir`, checked against its header. */
export async function ownerUnlock(context: Pick<Context, 'keyFile'>, dir: string): Promise<OwnerUnlock> {
  const header = await readHeader(dir);
  if (!header) throw noVault(dir);
  if (header.unlock.method === 'key-file') {
    if (context.keyFile === undefined) {
      throw new UsageError(`The vault in ${dir} is unlocked with a key file: pass --key-file PATH.`);
    }
    return { keyFile: resolve(context.keyFile) };
  }
  if (context.keyFile !== undefined) {
    throw new UsageError(
      `The vault in ${dir} is unlocked with a passphrase, not a key file: drop --key-file ` +
        `(the passphrase comes from ${PASSPHRASE_FILE_ENV} or a prompt).`,
    );
  }
  const file = process.env[PASSPHRASE_FILE_ENV];
  return { passphrase: file ? await readPassphraseFile(file) : await promptHidden('Vault passphrase:', NO_TERMINAL) };
}

/** Open the vault as its owner; the caller closes it. */
async function openOwner(context: Pick<Context, 'dir' | 'keyFile'>): Promise<Vault> {
  const { dir } = locateVault(context);
  const unlock = await ownerUnlock(context, dir);
  try {
    return await openVault({ dir, ...unlock });
  } finally {
    if (unlock.passphrase instanceof Uint8Array) wipe(unlock.passphrase);
  }
}

/** Run `fn` with the owner's vault, closing it (and wiping its keys) afterwards. */
export async function withOwnerVault<T>(context: Pick<Context, 'dir' | 'keyFile'>, fn: (vault: Vault) => Promise<T>): Promise<T> {
  const vault = await openOwner(context);
  try {
    return await fn(vault);
  } finally {
    await vault.close();
  }
}
