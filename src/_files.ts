/**
 * Reading the two credential files an application may point us at: the owner's key file and an
 * agent's token file. Kept apart from the core so that only callers that use files load node:fs.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, statSync } from 'node:fs';
import { chmod, open, readFile, stat } from 'node:fs/promises';
import { UsageError } from './errors.ts';
import { errnoCode, fileIdentity, fileKind, NON_BLOCK, readExactly, settled } from './_fs.ts';
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

/** Far more than any token (`avt_` and ~150 characters): a larger file is refused before it is read. */
const MAX_TOKEN_FILE_BYTES = 64 * 1024;

/**
 * Read an agent token file (AGENT_VAULT_TOKEN_FILE): the token, surrounding whitespace ignored.
 * Refused when other users can read it or anyone but its owner can write it, like the owner's
 * files. Group read is allowed: that is how Kubernetes (`defaultMode: 0440` with `fsGroup`) and
 * Docker hand a secret to a container user that does not own the file.
 *
 * Synchronous: a few hundred bytes, read once at start-up and again only when the file changed.
 * Through the thread pool its five round trips (open, fstat, read, read, close) each waited for a
 * main thread busy starting libsodium and the SDK: 7–30 ms of an agent's cold start, measured.
 * The path is followed (a mounted secret is a symlink), opened non-blocking so that a FIFO put
 * there cannot hang the process, and checked on the descriptor read (fstat), so a swap between
 * the check and the read is not possible.
 */
export function readTokenFile(path: string): string {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | NON_BLOCK);
  } catch (cause) {
    throw new UsageError(`Cannot read AGENT_VAULT_TOKEN_FILE ${path} (${errnoCode(cause)}). Check the path.`);
  }
  try {
    const info = fstatSync(fd);
    if (!info.isFile()) {
      throw new UsageError(`AGENT_VAULT_TOKEN_FILE ${path} is ${fileKind(info)}. Point it at the file that holds the agent token.`);
    }
    if (process.platform !== 'win32' && (info.mode & 0o027) !== 0) {
      throw new UsageError(
        `AGENT_VAULT_TOKEN_FILE ${path} is readable or writable by other users; any of them could act as this agent. ` +
          `Run: chmod 600 ${path} (in Kubernetes: defaultMode: 0440 with the pod's fsGroup).`,
      );
    }
    if (info.size > MAX_TOKEN_FILE_BYTES) {
      throw new UsageError(`AGENT_VAULT_TOKEN_FILE ${path} is ${info.size} bytes, far more than a token. Point it at the file that holds the agent token.`);
    }
    let raw: Buffer;
    try {
      raw = readExactly(fd, info.size);
    } catch (cause) {
      throw new UsageError(`Cannot read AGENT_VAULT_TOKEN_FILE ${path} (${errnoCode(cause)}). Check the path.`);
    }
    const text = raw.toString('utf8').trim();
    raw.fill(0);
    return text;
  } finally {
    closeSync(fd);
  }
}

/**
 * AGENT_VAULT_TOKEN_FILE, followed: a running agent picks up a token the owner rotated into the
 * file (`agent rotate --token-file PATH --force`, a Kubernetes secret update) at its next
 * request, without a restart. One stat per use; the file is read again only when its identity
 * (inode, size, times) changed, or while that identity is too recent to tell a later write in the
 * same clock tick from this one (`settled`): a token rewritten in place within a tick of the last
 * look is still seen. A re-read that finds the token already read is no change.
 */
export class TokenFile {
  readonly path: string;
  /** The identity the token last read came with, once settled; undefined reads again. */
  #seen: string | undefined;
  /** A digest of the token last read, not the token: this object outlives the role that holds it. */
  #read: Uint8Array;

  private constructor(path: string, seen: string | undefined, token: string) {
    this.path = path;
    this.#seen = seen;
    this.#read = tokenDigest(token);
  }

  static open(path: string): { file: TokenFile; token: string } {
    const token = readTokenFile(path);
    // Stat after the read: a write in between makes a new ctime, so the identity is not settled.
    return { file: new TokenFile(path, TokenFile.#identity(path), token), token };
  }

  /**
   * The file's settled identity as it stands (undefined while its ctime is too recent, or when it
   * is missing), in one synchronous stat: this runs before every request, where a stat through
   * libuv's thread pool costs ~40 µs and a local one ~2 µs (as in the file backend's readEntry).
   * stat, not lstat: a mounted secret (Kubernetes) is swapped by its symlink.
   */
  static #identity(path: string): string | undefined {
    let info;
    try {
      info = statSync(path, { bigint: true, throwIfNoEntry: false });
    } catch {
      info = undefined;
    }
    return info && settled(info) ? fileIdentity(info) : undefined;
  }

  /** The file's token when it changed since the last call that returned one; else undefined. */
  async changed(): Promise<string | undefined> {
    const identity = TokenFile.#identity(this.path);
    if (identity !== undefined && identity === this.#seen) return undefined;
    // A missing or unreadable file (mid-replacement by a tool that is not atomic) keeps the old token.
    let token: string | undefined;
    try {
      token = readTokenFile(this.path);
    } catch {
      return undefined;
    }
    // Stat before the read: a write in between shows as another identity at the next stat.
    this.#seen = identity;
    const read = tokenDigest(token);
    if (timingSafeEqual(read, this.#read)) return undefined;
    this.#read = read;
    return token;
  }
}

/** SHA-256 from node:crypto, not our libsodium: the token file is read before libsodium is ready. */
function tokenDigest(token: string): Uint8Array {
  return createHash('sha256').update(token).digest();
}
