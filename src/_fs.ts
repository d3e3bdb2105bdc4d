/**
 * File-system helpers shared by the file backend (src/backends/), the file audit sink
 * (src/audit/file.ts), import (src/scan/) and the CLI: errno codes and the advice a user acts
 * on, process liveness, directory fsync, new private files, and the one rule that says when
 * another process's lock is abandoned.
 *
 * Node-only. The core never imports it: only those subsystems do, and each is loaded only by
 * its own subpath, by openVault's lazy import, or by the CLI.
 */
import fs from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { hostname } from 'node:os';

export function errnoCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Advice that reads the same whichever file failed. */
const COMMON_ADVICE: Record<string, string> = {
  ENOSPC: 'The disk is full: free some space, then retry.',
  EDQUOT: 'The disk quota is exhausted: free some space, then retry.',
  EIO: 'The disk reported an I/O error: check the device.',
  EMFILE: 'Too many open files: raise the limit (ulimit -n) or lower concurrency.',
  ENFILE: 'Too many open files: raise the limit (ulimit -n) or lower concurrency.',
  ELOOP: 'A symbolic link is in the place of a vault file (agent-vault never makes one): remove it.',
  ENOTFILE: 'Something other than a file is in the place of a vault file: remove it.',
  EFBIG: 'A vault file is far larger than any agent-vault writes: it was planted or damaged; move it aside.',
  EUNSAFE: 'Make this user own it and remove group and other write access (chmod go-w), or remove it.',
};

/** Our own codes for planted files (see openPlanted); their message says what was found. */
const PLANTED_CODES = new Set(['ENOTFILE', 'EFBIG', 'EUNSAFE']);

/** `code`, and for a planted file what was found, for a message: `ENOTFILE: … is a FIFO`. */
export function describeFsError(error: unknown): string {
  const code = errnoCode(error) ?? 'UNKNOWN';
  if (code === 'ELOOP') return 'ELOOP: it is a symbolic link';
  if (PLANTED_CODES.has(code)) return `${code}: ${(error as Error).message}`;
  return code;
}

/**
 * What to do about an fs error, by errno code: the part of the message a user acts on.
 * `specific` holds the advice that names the caller's own files (the vault directory, the log).
 */
export function fsAdvice(code: string, specific: Record<string, string>): string {
  return specific[code] ?? COMMON_ADVICE[code] ?? 'Check the vault directory and the disk, then retry.';
}

/** A pid a lock holder can have: process.kill(0 or negative) would signal a process group. */
export function isHolderPid(pid: unknown): pid is number {
  return Number.isSafeInteger(pid) && (pid as number) > 0 && (pid as number) <= 0x7fff_ffff;
}

/** True when a process with this pid exists on this host (EPERM: it exists, owned by another user). */
export function pidAlive(pid: number): boolean {
  if (!isHolderPid(pid)) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errnoCode(error) === 'EPERM';
  }
}

/**
 * Create `path` as a new file (mode 0600, never over an existing one) holding what `produce`
 * returns. The file is made before `produce` runs, so a bad path fails before anything is issued
 * (a token that exists nowhere else); if `produce` or the write fails, the file is removed.
 * `openError` words the failure to create it, from its errno code.
 */
export async function writeNewPrivateFile<T>(
  path: string, produce: () => Promise<{ content: string; result: T }>, openError: (code: string | undefined) => Error,
): Promise<T> {
  const handle = await open(path, 'wx', 0o600).catch((cause) => {
    throw openError(errnoCode(cause));
  });
  try {
    const { content, result } = await produce();
    await handle.writeFile(content);
    await handle.sync();
    return result;
  } catch (error) {
    await fs.promises.unlink(path).catch(() => undefined);
    throw error;
  } finally {
    await handle.close();
  }
}

/**
 * Makes a rename, an unlink or a new file's directory entry durable. Windows cannot open
 * directories (NTFS journals renames). Errors are the caller's to word.
 */
export async function syncDirectory(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** syncDirectory for callers that hold a lock and must not yield (the audit append). */
export function syncDirectorySync(dir: string): void {
  if (process.platform === 'win32') return;
  const handle = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(handle);
  } finally {
    fs.closeSync(handle);
  }
}

/** This host's name, as lock files record it, so a waiter knows whose pids it can check. */
export const HOST = hostname();

/** Who a lock file says holds it. */
export interface LockHolder {
  pid: number;
  host: string;
}

/**
 * A `<lock>.break` file (held by a waiter while it removes a stale lock) lives for microseconds;
 * one older than this belongs to a killed breaker and may be removed.
 */
export const BREAKER_STALE_MS = 5_000;
/** A lock file that says nothing is its creator dying between create and write. */
const UNREADABLE_STALE_MS = 2_000;

/**
 * The stale-lock policy of both locks: a lock is abandoned at once when its holder's pid is dead
 * on this host; a holder we cannot see (another host) after `staleMs`; a lock file that names no
 * holder after UNREADABLE_STALE_MS. `heldMs` is how long ago the lock was taken or refreshed.
 */
export function lockAbandoned(holder: LockHolder | undefined, heldMs: number, staleMs: number): boolean {
  // A time further in the future than any refresh can be was forged (touch -d 2099) to hold the
  // lock forever, or the clock jumped back: either way nobody is refreshing it now.
  if (heldMs < -staleMs) return true;
  if (!holder) return heldMs > UNREADABLE_STALE_MS;
  if (holder.host === HOST && !pidAlive(holder.pid)) return true;
  return heldMs > staleMs;
}

// ---- Opening files an attacker may have planted ------------------------------------------------

/*
 * Every file under the vault directory may have been replaced by anyone who can write there (an
 * agent running as the owner's user, say): with a symlink to /dev/zero, a FIFO (whose open blocks
 * until a writer comes), a sparse file of gigabytes, or a file owned by someone else. So every
 * read opens with O_NOFOLLOW (a symlink fails with ELOOP instead of being followed) and
 * O_NONBLOCK (a FIFO's open returns at once), then fstat()s the handle it will read, and refuses
 * anything but a regular file of a sane size owned by this user. Windows has neither flag (and no
 * FIFO can sit at a file's path there), so they are 0 there.
 */
const { O_RDONLY, O_NOFOLLOW = 0, O_NONBLOCK = 0 } = fs.constants;
/** Flags for reading a file that may be hostile. */
export const SAFE_READ_FLAGS = O_RDONLY | O_NOFOLLOW | O_NONBLOCK;
/** O_NOFOLLOW for callers that open with other access modes (the audit log's append). */
export const NO_FOLLOW = O_NOFOLLOW;
export const NON_BLOCK = O_NONBLOCK;

/** What a non-regular file is, for messages. */
export function fileKind(stats: fs.Stats | fs.BigIntStats): string {
  return stats.isFIFO() ? 'a FIFO (named pipe)'
    : stats.isDirectory() ? 'a directory'
    : stats.isSocket() ? 'a socket'
    : stats.isCharacterDevice() ? 'a character device'
    : stats.isBlockDevice() ? 'a block device'
    : stats.isSymbolicLink() ? 'a symbolic link'
    : 'not a regular file';
}

/** An Error with an errno-like code of our own, so callers word it as they word fs errors. */
/**
 * The `size` bytes fstat promised from `fd`, no more (a file that grows after the check is not
 * read on): fewer if it shrank. In a pooled buffer; the caller wipes it when the bytes are secret.
 */
export function readExactly(fd: number, size: number): Buffer {
  const bytes = Buffer.allocUnsafe(size);
  let offset = 0;
  while (offset < size) {
    const bytesRead = fs.readSync(fd, bytes, offset, size - offset, offset);
    if (bytesRead === 0) break;
    offset += bytesRead;
  }
  return bytes.subarray(0, offset);
}

/**
 * A file's identity as one string: any write, rename over it, chmod or utimes changes it, since
 * the ctime moves and no user can set it (within the clock's granularity: see `settled`).
 */
export function fileIdentity(stats: fs.BigIntStats): string {
  return `${stats.dev}:${stats.ino}:${stats.size}:${stats.mtimeNs}:${stats.ctimeNs}`;
}

/**
 * How far in the past a ctime must be before the identity can name the file's bytes. Timestamps
 * are coarse on many kernels and filesystems (a tick of a few ms), and a freed inode number can be
 * reused at once, so a file replaced or rewritten twice within one tick could show the same
 * (inode, size, mtime, ctime) both times; a file older than this cannot be confused with any
 * later write, which sets a later ctime.
 */
const RACY_WINDOW_MS = 1_000;

/**
 * Whether a file's `fileIdentity` names its bytes: its ctime is more than RACY_WINDOW_MS in the
 * past. Sound because every change to what a path holds sets a ctime of "now" on the file it then
 * holds, and no user can set a ctime: writing in place sets mtime and ctime, utimes (which can put
 * an old mtime back) and chmod set ctime, renaming a file over the path sets the renamed file's
 * ctime (and one made later in a freed inode gets a later ctime anyway). So once the ctime is
 * older than any clock tick, a later stat that shows the same five values shows the same file,
 * unchanged, and any change in between shows as a different identity.
 */
export function settled(stats: fs.BigIntStats): boolean {
  return Date.now() - Number(stats.ctimeNs / 1_000_000n) > RACY_WINDOW_MS;
}

export function codedError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

/** This process's uid, or undefined where there are none (Windows). */
const MY_UID = process.getuid?.();

/**
 * Why a file or directory is not safe to trust, or undefined: owned by another user (root may
 * own it too), or writable by group or others, as OpenSSH's StrictModes refuses. For a regular
 * file, also larger than `maxBytes`.
 */
export function unsafeBecause(stats: fs.Stats | fs.BigIntStats, maxBytes?: number): string | undefined {
  if (maxBytes !== undefined && Number(stats.size) > maxBytes) {
    return `it is ${Number(stats.size)} bytes, more than the ${maxBytes} any such file needs`;
  }
  if (MY_UID === undefined) return undefined;
  const uid = Number(stats.uid);
  if (uid !== MY_UID && uid !== 0) return `it is owned by uid ${uid}, not by this user (uid ${MY_UID})`;
  if ((Number(stats.mode) & 0o022) !== 0) {
    return `it is writable by ${(Number(stats.mode) & 0o002) !== 0 ? 'every user' : 'its group'} (mode ${(Number(stats.mode) & 0o777).toString(8)})`;
  }
  return undefined;
}

/** The checks of an open handle's fstat: a regular file, safe, at most `maxBytes`. Throws a coded error. */
export function checkOpenedFile(stats: fs.Stats | fs.BigIntStats, path: string, maxBytes: number): void {
  if (!stats.isFile()) throw codedError('ENOTFILE', `${path} is ${fileKind(stats)}, not a regular file`);
  const why = unsafeBecause(stats, maxBytes);
  if (why) throw codedError(Number(stats.size) > maxBytes ? 'EFBIG' : 'EUNSAFE', `${path}: ${why}`);
}

/**
 * `path` opened for reading after the checks above, with its fstat, or undefined when it does not
 * exist. Errors keep their errno code (ELOOP for a symlink, ENOTFILE, EFBIG, EUNSAFE) for the
 * caller to word.
 */
export async function openPlanted(path: string, maxBytes: number): Promise<{ handle: FileHandle; stats: fs.BigIntStats } | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(path, SAFE_READ_FLAGS);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const stats = await handle.stat({ bigint: true });
    checkOpenedFile(stats, path, maxBytes);
    return { handle, stats };
  } catch (error) {
    await handle.close().catch(() => undefined);
    throw error;
  }
}

/** openPlanted for callers that must not yield (the audit lock): the fd, or undefined when absent. */
export function openPlantedSync(path: string, maxBytes: number): { fd: number; stats: fs.BigIntStats } | undefined {
  let fd: number;
  try {
    fd = fs.openSync(path, SAFE_READ_FLAGS);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const stats = fs.fstatSync(fd, { bigint: true });
    checkOpenedFile(stats, path, maxBytes);
    return { fd, stats };
  } catch (error) {
    fs.closeSync(fd);
    throw error;
  }
}

/**
 * At most `maxBytes` of a small planted file (a lock's holder), or undefined when it is absent.
 * Anything openPlantedSync refuses throws, so a waiter fails fast rather than spinning on it.
 */
export function readSmallFileSync(path: string, maxBytes: number): { raw: string; stats: fs.BigIntStats } | undefined {
  const opened = openPlantedSync(path, Number.MAX_SAFE_INTEGER);
  if (!opened) return undefined;
  try {
    const buffer = Buffer.alloc(maxBytes);
    const length = fs.readSync(opened.fd, buffer, 0, maxBytes, 0);
    return { raw: buffer.toString('utf8', 0, length), stats: opened.stats };
  } finally {
    fs.closeSync(opened.fd);
  }
}
