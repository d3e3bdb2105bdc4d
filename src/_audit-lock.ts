/**
 * The audit log's cross-process lock: a file created with O_EXCL beside the log, holding
 * `{ pid, host, at }`. Held for one append (microseconds with durability 'write', one fdatasync
 * with 'fsync'), so taking it is synchronous and cheap when free (open, write, fstat), and only
 * waiting is asynchronous.
 *
 * Not the file backend's lock (src/backends/_file-lock.ts): that one is held across whole
 * read-modify-write transactions, so it refreshes its mtime on a timer and queues through
 * promises; that costs more than an append itself, and a vault transaction that appends a
 * record must not wait on its own backend lock.
 *
 * A lock left by a dead process is recovered: at once when its pid is gone on this host, else
 * once it is older than `staleMs` (no append holds it that long). Removing another's lock happens
 * under a second O_EXCL file, `<lock>.break`, so two waiters can never both judge one lock stale
 * and the slower then remove the faster one's fresh lock.
 */
import fs from 'node:fs';
import { hostname } from 'node:os';

export interface AuditLockOptions {
  path: string;
  /** Give up after this long. */
  timeoutMs: number;
  /** A lock this old, held by a process we cannot see, is abandoned. */
  staleMs: number;
}

export interface HeldLock {
  release(): void;
}

interface SeenLock {
  ino: number;
  raw: string;
  mtimeMs: number;
}

/** A `.break` file lives for microseconds; one this old belongs to a killed breaker. */
const BREAKER_STALE_MS = 2_000;
/** An empty lock file is its creator dying between open and write. */
const EMPTY_STALE_MS = 1_000;
const HOST = hostname();

export class LockTimeoutError extends Error {
  readonly holder: string;
  constructor(path: string, timeoutMs: number, holder: string) {
    super(`Timed out after ${timeoutMs} ms waiting for the audit lock ${path}${holder ? ` (held by ${holder})` : ''}.`);
    this.holder = holder;
  }
}

export async function acquireAuditLock({ path, timeoutMs, staleMs }: AuditLockOptions): Promise<HeldLock> {
  const deadline = Date.now() + timeoutMs;
  let delayMs = 1;
  for (;;) {
    const held = tryAcquire(path);
    if (held) return held;
    if (breakIfStale(path, staleMs)) continue;
    if (Date.now() >= deadline) throw new LockTimeoutError(path, timeoutMs, describe(readLock(path)));
    await new Promise((resolve) => setTimeout(resolve, delayMs * (0.5 + Math.random())));
    delayMs = Math.min(delayMs * 2, 16);
  }
}

/** The lock, or undefined when someone holds it. Throws on any other error (EACCES, ENOSPC…). */
function tryAcquire(path: string): HeldLock | undefined {
  let fd: number;
  try {
    fd = fs.openSync(path, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw error;
  }
  let ino: number;
  try {
    fs.writeSync(fd, JSON.stringify({ pid: process.pid, host: HOST, at: Date.now() }));
    ino = fs.fstatSync(fd).ino;
  } catch (error) {
    fs.closeSync(fd);
    unlinkQuietly(path);
    throw error;
  }
  // The descriptor is not needed past this point: the file's existence is the lock.
  fs.closeSync(fd);
  return {
    release() {
      // Remove only our own lock: if it was judged stale and replaced, the file is someone else's.
      if (statQuietly(path)?.ino === ino) unlinkQuietly(path);
    },
  };
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
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const other = statQuietly(breakPath);
    if (other && Date.now() - other.mtimeMs > BREAKER_STALE_MS) unlinkQuietly(breakPath);
    return false;
  }
  try {
    // Breakers are serialised here and only they remove a lock they do not own, so if the file
    // is still the stale one we saw, nobody can replace it between this check and the unlink.
    const again = readLock(path);
    if (again && again.ino === seen.ino && again.raw === seen.raw) unlinkQuietly(path);
    return true;
  } finally {
    fs.closeSync(breaker);
    unlinkQuietly(breakPath);
  }
}

function isStale(seen: SeenLock, staleMs: number): boolean {
  const age = Date.now() - seen.mtimeMs;
  const holder = parse(seen.raw);
  if (!holder) return age > EMPTY_STALE_MS;
  if (holder.host === HOST && !pidAlive(holder.pid)) return true;
  return age > staleMs;
}

function readLock(path: string): SeenLock | undefined {
  let fd: number;
  try {
    fd = fs.openSync(path, 'r');
  } catch {
    return undefined;
  }
  try {
    const stats = fs.fstatSync(fd);
    const buffer = Buffer.alloc(256);
    const length = fs.readSync(fd, buffer, 0, buffer.length, 0);
    return { ino: stats.ino, mtimeMs: stats.mtimeMs, raw: buffer.toString('utf8', 0, length) };
  } catch {
    return undefined;
  } finally {
    fs.closeSync(fd);
  }
}

function parse(raw: string): { pid: number; host: string; at: number } | undefined {
  try {
    const value = JSON.parse(raw) as { pid?: unknown; host?: unknown; at?: unknown };
    if (Number.isInteger(value.pid) && typeof value.host === 'string' && typeof value.at === 'number') {
      return value as { pid: number; host: string; at: number };
    }
  } catch {
    // empty or half-written: judged by age
  }
  return undefined;
}

function describe(seen: SeenLock | undefined): string {
  const holder = seen && parse(seen.raw);
  return holder ? `pid ${holder.pid} on ${holder.host} since ${new Date(holder.at).toISOString()}` : '';
}

/** True when a process with this pid exists on this host (EPERM: it exists, owned by another user). */
function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function statQuietly(path: string): fs.Stats | undefined {
  try {
    return fs.statSync(path);
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
