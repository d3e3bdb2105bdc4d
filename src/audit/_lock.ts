/**
 * The audit log's cross-process lock, held for an append or a run of them (_append-lock.ts
 * keeps it while this process keeps appending, 20 ms at most): microseconds with durability 'write', one
 * fdatasync per record with 'fsync'. Taking a free lock is synchronous and cheap; only waiting
 * is asynchronous, and a waiter says so (signalWaiting) so that a holder gives the lock up.
 *
 * The lock is a hard link: each process makes, once, its own file `<lock>.w-<pid>-<random>`
 * holding `{ pid, host, at }`, and takes the lock by link()ing it to `<lock>` (atomic; EEXIST
 * while anyone holds it), releases by unlinking `<lock>`. On ext4 a link and an unlink cost about
 * 8 µs together, where creating and deleting a lock file with O_EXCL costs about 60 µs: more than
 * a whole resolution. Where a file system has no hard links, it falls back to O_EXCL.
 *
 * Not the file backend's lock (src/backends/_file-lock.ts): that one is held across whole
 * read-modify-write transactions, refreshes its mtime on a timer and queues through promises,
 * which costs more than an append itself.
 *
 * A lock left by a dead process is recovered by the policy both locks share (lockAbandoned in
 * ../_fs.ts): at once when its pid is gone on this host, else once it has been held longer than
 * `staleMs` (the link's ctime is when it was taken; no append holds it that long). Removing
 * another's lock happens under a second O_EXCL file, `<lock>.break`, so two waiters can never
 * both judge one lock stale and the slower then remove the faster one's fresh lock. Writer files of dead processes are swept on first use.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { basename, dirname, join } from 'node:path';
import {
  BREAKER_STALE_MS, errnoCode, HOST, isHolderPid, lockAbandoned, pidAlive, readSmallFileSync,
} from '../_fs.ts';
import { signalWaiting, waitingPath } from '../_lock-waiting.ts';

export interface AuditLockOptions {
  path: string;
  /** Give up after this long. */
  timeoutMs: number;
  /** A lock held this long by a process we cannot see is abandoned. */
  staleMs: number;
}

export interface HeldLock {
  release(): void;
}

export class LockTimeoutError extends Error {
  constructor(path: string, timeoutMs: number, holder: string) {
    super(`Timed out after ${timeoutMs} ms waiting for the audit lock ${path}${holder ? ` (held by ${holder})` : ''}.`);
  }
}

interface SeenLock {
  ino: bigint;
  ctimeNs: bigint;
  raw: string;
}

const NO_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV', 'EMLINK']);

/** This process's link source per lock path; `undefined` where hard links do not work. */
const writerFiles = new Map<string, { path: string; ino: number } | undefined>();
let exitHookInstalled = false;
/** Locks this process holds now, released by the exit hook. */
const heldLocks = new Set<HeldLock>();

export async function acquireAuditLock({ path, timeoutMs, staleMs }: AuditLockOptions): Promise<HeldLock> {
  const deadline = Date.now() + timeoutMs;
  let delayMs = 0.5;
  let signalled = false;
  try {
    for (;;) {
      const held = tryAcquire(path);
      if (held) return held;
      if (breakIfStale(path, staleMs)) continue;
      if (Date.now() >= deadline) throw new LockTimeoutError(path, timeoutMs, describe(readQuietlyLock(path)));
      if (signalWaiting(path)) signalled = true; // touched on every attempt: a signal older than WAITING_FRESH_MS is ignored
      await new Promise((resolve) => setTimeout(resolve, delayMs * (0.5 + Math.random())));
      delayMs = Math.min(delayMs * 2, 16);
    }
  } finally {
    if (signalled) unlinkQuietly(waitingPath(path));
  }
}

/** The lock if it is free now, else undefined: one attempt, synchronous, no waiting. */
export function tryAuditLock(path: string): HeldLock | undefined {
  return tryAcquire(path);
}

/*
 * A waiter's signal, `<lock>.waiting` (signalWaiting, shared with the vault lock): a holder that
 * keeps the lock while it keeps appending (_append-lock.ts) looks for it every millisecond, busy
 * or idle, and gives the lock up when it sees it fresh, so a waiter waits about as long as when
 * every append released the lock at the end of its turn (1 ms at most, then). One older than
 * WAITING_FRESH_MS (a waiter that died) is ignored.
 */
/** A waiter more than twice the longest sleep between attempts ago is not waiting any more. */
const WAITING_FRESH_MS = 100;

/** Whether another process (or sink) waits for this lock now: one lstat. */
export function othersWaiting(lockPath: string): boolean {
  const found = statQuietly(waitingPath(lockPath));
  return found !== undefined && Math.abs(Date.now() - found.mtimeMs) < WAITING_FRESH_MS;
}

/** The lock, or undefined when someone holds it. Throws on any other error (EACCES, ENOSPC…). */
function tryAcquire(path: string): HeldLock | undefined {
  if (!writerFiles.has(path)) writerFiles.set(path, createWriterFile(path));
  const writer = writerFiles.get(path);
  if (!writer) return tryCreate(path);
  try {
    fs.linkSync(writer.path, path);
  } catch (error) {
    const code = errnoCode(error) ?? '';
    if (code === 'EEXIST') return undefined;
    // Our writer file was removed from under us (or links stopped working): make a new one.
    if (code === 'ENOENT' || NO_LINKS.has(code)) {
      writerFiles.delete(path);
      return undefined;
    }
    throw error;
  }
  return heldAs(path, writer.ino);
}

/** The O_EXCL fallback, for file systems without hard links. */
function tryCreate(path: string): HeldLock | undefined {
  let fd: number;
  try {
    fd = fs.openSync(path, 'wx', 0o600);
  } catch (error) {
    if (errnoCode(error) === 'EEXIST') return undefined;
    throw error;
  }
  try {
    fs.writeSync(fd, holderInfo());
    return heldAs(path, fs.fstatSync(fd).ino);
  } catch (error) {
    unlinkQuietly(path);
    throw error;
  } finally {
    fs.closeSync(fd);
  }
}

function heldAs(path: string, ino: number): HeldLock {
  const lock: HeldLock = {
    release() {
      heldLocks.delete(lock);
      // Remove only our own lock: if it was judged stale and replaced, the file is someone else's.
      if (statQuietly(path)?.ino === ino) unlinkQuietly(path);
    },
  };
  heldLocks.add(lock);
  installExitHook();
  return lock;
}

/**
 * At exit, remove this process's writer files and release any lock still held (a sink keeps its
 * lock for up to 2 ms after its last append, and a process may exit before that): the next appender then
 * need not wait to find the holder dead.
 */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const lock of [...heldLocks]) lock.release();
    for (const writer of writerFiles.values()) if (writer) unlinkQuietly(writer.path);
  });
}

/** This process's link source, or undefined when this file system cannot hard-link. */
function createWriterFile(lockPath: string): { path: string; ino: number } | undefined {
  sweepDeadWriters(lockPath);
  const path = `${lockPath}.w-${process.pid}-${randomBytes(4).toString('hex')}`;
  const fd = fs.openSync(path, 'wx', 0o600);
  let ino: number;
  try {
    fs.writeSync(fd, holderInfo());
    ino = fs.fstatSync(fd).ino;
  } catch (error) {
    unlinkQuietly(path);
    throw error;
  } finally {
    fs.closeSync(fd);
  }
  // Probe once: a file system without hard links says so here, and we fall back to O_EXCL.
  const probe = `${path}.probe`;
  try {
    fs.linkSync(path, probe);
    unlinkQuietly(probe);
  } catch (error) {
    unlinkQuietly(path);
    if (NO_LINKS.has(errnoCode(error) ?? '')) return undefined;
    throw error;
  }
  installExitHook();
  return { path, ino };
}

/** Writer files of processes that died without their exit hook (SIGKILL, a crash). */
function sweepDeadWriters(lockPath: string): void {
  const dir = dirname(lockPath);
  const prefix = `${basename(lockPath)}.w-`;
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((name) => name.startsWith(prefix));
  } catch {
    return;
  }
  for (const name of names) {
    const holder = parse(readQuietly(join(dir, name)));
    if (holder && holder.host === HOST && !pidAlive(holder.pid)) unlinkQuietly(join(dir, name));
  }
}

function breakIfStale(path: string, staleMs: number): boolean {
  const seen = readLock(path);
  if (!seen) return true; // released meanwhile
  if (!isStale(seen, staleMs)) return false;
  const breakPath = `${path}.break`;
  let breaker: number;
  try {
    breaker = fs.openSync(breakPath, 'wx', 0o600);
  } catch (error) {
    if (errnoCode(error) !== 'EEXIST') throw error;
    // lstat, and an age either way: a breaker dated in the future (or a symlink) was planted.
    const other = statQuietly(breakPath);
    if (other && (!other.isFile() || Math.abs(Date.now() - other.mtimeMs) > BREAKER_STALE_MS)) unlinkQuietly(breakPath);
    return false;
  }
  try {
    // Breakers are serialised here and only they remove a lock they do not own, so if the lock
    // is still the stale one we saw (same inode, taken at the same instant), nobody can replace
    // it between this check and the unlink.
    const again = readLock(path);
    if (again && again.ino === seen.ino && again.ctimeNs === seen.ctimeNs) unlinkQuietly(path);
    return true;
  } finally {
    fs.closeSync(breaker);
    unlinkQuietly(breakPath);
  }
}

function isStale(seen: SeenLock, staleMs: number): boolean {
  return lockAbandoned(parse(seen.raw), Date.now() - Number(seen.ctimeNs / 1_000_000n), staleMs);
}

/**
 * The lock as it is now, or undefined when it is gone. Never follows a symlink nor blocks on a
 * FIFO and reads at most 256 bytes (readSmallFileSync in ../_fs.ts); something other than a
 * regular file there is reported with its kind, so the waiter fails fast instead of hanging.
 */
function readLock(path: string): SeenLock | undefined {
  const found = readSmallFileSync(path, 256);
  return found && { ino: found.stats.ino, ctimeNs: found.stats.ctimeNs, raw: found.raw };
}

function readQuietlyLock(path: string): SeenLock | undefined {
  try {
    return readLock(path);
  } catch {
    return undefined;
  }
}

function holderInfo(): string {
  return JSON.stringify({ pid: process.pid, host: HOST, at: Date.now() });
}

function parse(raw: string | undefined): { pid: number; host: string; at: number } | undefined {
  try {
    const value = JSON.parse(raw ?? '') as { pid?: unknown; host?: unknown; at?: unknown };
    if (isHolderPid(value.pid) && typeof value.host === 'string' && value.host.length <= 255 && typeof value.at === 'number') {
      return value as { pid: number; host: string; at: number };
    }
  } catch {
    // empty or half-written
  }
  return undefined;
}

function describe(seen: SeenLock | undefined): string {
  const holder = parse(seen?.raw);
  return holder ? `pid ${holder.pid} on ${holder.host}` : '';
}

function readQuietly(path: string): string | undefined {
  try {
    return readSmallFileSync(path, 256)?.raw;
  } catch {
    return undefined;
  }
}

function statQuietly(path: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(path, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

function unlinkQuietly(path: string): void {
  try {
    fs.unlinkSync(path);
  } catch {
    // already gone
  }
}
