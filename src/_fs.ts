import { BackendError } from './errors.ts';

/** Helpers shared by the file backend and its lock: errno codes, advice, process liveness. */

export function errnoCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** What to do about an fs error, by errno code: the part of the message a user acts on. */
const ADVICE: Record<string, string> = {
  EACCES: 'Check that this user owns the vault directory and can read and write it (mode 0700).',
  EPERM: 'Check that this user owns the vault directory and can read and write it (mode 0700).',
  ENOSPC: 'The disk is full: free some space, then retry.',
  EDQUOT: 'The disk quota is exhausted: free some space, then retry.',
  EROFS: 'The file system is read-only: set AGENT_VAULT_DIR (or the dir option) to a writable directory.',
  ENOENT: 'The vault directory was removed: recreate it (agent-vault init) or set AGENT_VAULT_DIR.',
  ENOTDIR: 'A part of the vault path is a file, not a directory: fix the path or set AGENT_VAULT_DIR.',
  EEXIST: 'A part of the vault path is a file, not a directory: fix the path or set AGENT_VAULT_DIR.',
  EISDIR: 'A directory is in the way of a vault file: remove it.',
  EMFILE: 'Too many open files: raise the limit (ulimit -n) or lower concurrency.',
  ENFILE: 'Too many open files: raise the limit (ulimit -n) or lower concurrency.',
  EIO: 'The disk reported an I/O error: check the device.',
};

/**
 * An fs error as a BackendError naming the path and what to do. Only paths and errno codes go in
 * the message (file names are hashes, never keys or values); the original error is the cause.
 */
export function fsError(error: unknown, action: string, path: string): BackendError {
  const code = errnoCode(error) ?? 'UNKNOWN';
  const advice = ADVICE[code] ?? 'Check the vault directory and the disk, then retry.';
  return new BackendError(`File backend could not ${action} ${path} (${code}). ${advice}`, {
    cause: error,
  });
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

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
