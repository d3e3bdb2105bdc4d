/**
 * A cross-process lock's waiting signal, `<lock>.waiting`: an empty file that a process waiting
 * for the lock creates, or touches, before each sleep, and removes once it holds the lock (or gives
 * up). A process that is about to take the lock, or to keep it, looks at it to let a waiter go
 * first. The audit lock (src/audit/_lock.ts) has the same signal; the file backend's vault lock
 * (src/backends/_file-lock.ts) uses this one.
 *
 * The file may be planted by anyone who can write the directory: it is never followed (O_NOFOLLOW,
 * lutimes), never opened for reading, and its content is never looked at. A signal dated in the
 * future is not fresh, and every caller bounds how long it defers to one, so a planted signal can
 * cost a delay, never a wedge.
 */
import fs from 'node:fs';
import { errnoCode, NO_FOLLOW, NON_BLOCK } from './_fs.ts';

export function waitingPath(lockPath: string): string {
  return `${lockPath}.waiting`;
}

/** Create or touch the signal; returns whether it is up (false: the directory refuses it). */
export function signalWaiting(lockPath: string): boolean {
  const path = waitingPath(lockPath);
  try {
    fs.closeSync(fs.openSync(path, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | NO_FOLLOW | NON_BLOCK, 0o600));
    return true;
  } catch (error) {
    if (errnoCode(error) !== 'EEXIST') return false;
  }
  try {
    const now = new Date();
    fs.lutimesSync(path, now, now);
    return true;
  } catch {
    return false;
  }
}

/** Whether someone touched the signal less than `freshMs` ago: one lstat. */
export function signalFresh(lockPath: string, freshMs: number): boolean {
  let found: fs.Stats | undefined;
  try {
    found = fs.lstatSync(waitingPath(lockPath), { throwIfNoEntry: false });
  } catch {
    return false;
  }
  return found !== undefined && Math.abs(Date.now() - found.mtimeMs) < freshMs;
}

/** Take the signal down (a waiter that got the lock or gave up); other waiters put it back up. */
export function clearWaiting(lockPath: string): void {
  try {
    fs.unlinkSync(waitingPath(lockPath));
  } catch {
    // already gone, or something we cannot remove was planted: it only ever costs a delay
  }
}
