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
import { open } from 'node:fs/promises';
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
};

/**
 * What to do about an fs error, by errno code: the part of the message a user acts on.
 * `specific` holds the advice that names the caller's own files (the vault directory, the log).
 */
export function fsAdvice(code: string, specific: Record<string, string>): string {
  return specific[code] ?? COMMON_ADVICE[code] ?? 'Check the vault directory and the disk, then retry.';
}

/** True when a process with this pid exists on this host (EPERM: it exists, owned by another user). */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
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

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
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
  if (!holder) return heldMs > UNREADABLE_STALE_MS;
  if (holder.host === HOST && !pidAlive(holder.pid)) return true;
  return heldMs > staleMs;
}
