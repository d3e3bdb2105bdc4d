/**
 * Reading the two credential files an application may point us at: the owner's key file and an
 * agent's token file. Kept apart from the core so that only callers that use files load node:fs.
 */
import { chmod, open, readFile, stat } from 'node:fs/promises';
import { UsageError } from './errors.ts';
import { errnoCode } from './_fs.ts';
import { fromBase64Url, KEY_BYTES, randomBytes, toBase64Url, utf8, wipe } from './crypto.ts';

const KEY_FILE_PREFIX = 'avk_';

/** Refuse credential files that other users can read, as ssh does with private keys. */
async function checkPrivate(path: string, what: string): Promise<void> {
  const info = await stat(path).catch((cause) => {
    throw new UsageError(`Cannot read the ${what} ${path} (${errnoCode(cause)}). Check the path.`);
  });
  if (process.platform !== 'win32' && (info.mode & 0o077) !== 0) {
    throw new UsageError(`The ${what} ${path} is readable by other users. Run: chmod 600 ${path}`);
  }
}

/** Read a key file: `avk_` + base64url of 32 bytes, optionally followed by a newline. */
export async function readKeyFile(path: string): Promise<Uint8Array> {
  await checkPrivate(path, 'key file');
  const raw = await readFile(path);
  try {
    const text = utf8.decode(raw).trim();
    if (!text.startsWith(KEY_FILE_PREFIX)) throw new Error('prefix');
    const key = fromBase64Url(text.slice(KEY_FILE_PREFIX.length));
    if (key.length !== KEY_BYTES) throw new Error('length');
    return key;
  } catch {
    throw new UsageError(
      `The key file ${path} is not an agent-vault key file (expected "avk_" and 43 base64url characters). ` +
        'Point keyFile at the file `agent-vault init --key-file` created.',
    );
  } finally {
    wipe(raw);
  }
}

/** Create a new key file (mode 0600, never overwriting) and return its key. */
export async function createKeyFile(path: string): Promise<Uint8Array> {
  const key = randomBytes(KEY_BYTES);
  const text = utf8.encode(`${KEY_FILE_PREFIX}${toBase64Url(key)}\n`);
  const handle = await open(path, 'wx', 0o600).catch((cause) => {
    const code = errnoCode(cause);
    throw new UsageError(
      code === 'EEXIST'
        ? `The key file ${path} already exists. Use it with openVault({ keyFile }), or choose a new path.`
        : `Cannot create the key file ${path} (${code}). Check that its directory exists and is writable.`,
    );
  });
  try {
    await handle.writeFile(text);
    await handle.sync();
    await chmod(path, 0o600);
  } finally {
    await handle.close();
    wipe(text);
  }
  return key;
}

/** Read an agent token file (AGENT_VAULT_TOKEN_FILE): the token, surrounding whitespace ignored. */
export async function readTokenFile(path: string): Promise<string> {
  // Not permission-checked: orchestrators mount secrets 0644 and the token is scoped anyway.
  const text = await readFile(path, 'utf8').catch((cause) => {
    throw new UsageError(
      `Cannot read AGENT_VAULT_TOKEN_FILE ${path} (${errnoCode(cause)}). Check the path.`,
    );
  });
  return text.trim();
}
