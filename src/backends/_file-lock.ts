import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { type FSWatcher, lstatSync, watch } from 'node:fs';
import { open, stat, unlink } from 'node:fs/promises';
import { BackendError } from '../errors.ts';
import { BREAKER_STALE_MS, errnoCode, HOST, isHolderPid, lockAbandoned } from '../_fs.ts';
import { clearWaiting, signalFresh, signalWaiting, waitingPath } from '../_lock-waiting.ts';
import { fsError, openIfPresent } from './_file-entry.ts';

/**
 * A cross-process exclusive lock on one file, for the file backend.
 *
 * The lock is a file created with O_EXCL holding `{ pid, hostname, createdAt, token }`. While it
 * is held, its mtime is refreshed every third of `staleMs`, so "not refreshed for `staleMs`"
 * means the holder is gone (killed, or on a host we cannot see). A lock whose pid is dead on this
 * host is removed at once (the policy is lockAbandoned in ../_fs.ts, shared with the audit
 * lock). Removing someone else's lock is done under a second, very short-lived O_EXCL file
 * (`<lock>.break`) so two waiters can never both remove a stale lock and then one of them remove
 * the other's fresh one.
 *
 * Fair between processes. A waiter puts up the waiting signal (../_lock-waiting.ts) and sleeps
 * until the lock file changes or goes (fs.watch; a 20 ms poll where a file system sends no
 * events). A process that has kept taking the lock for a whole turn (`turnMs`) while that signal
 * was up lets the waiter take it next and waits its own turn. Without this, an owner writing in a
 * loop re-took the lock the moment it let go, and a second owner polling at its own pace got in
 * only by luck: measured, one of two processes writing 200 secrets each waited for all 200 of the
 * other's (2–9 s), past the 10 s timeout on a loaded machine. So a wait is about one turn plus
 * one operation, however many writers loop. A process of an older version neither signals nor
 * defers: it is still excluded (the lock file is unchanged), only not fair.
 */
export interface FileLockOptions {
  path: string;
  timeoutMs: number;
  staleMs: number;
  /**
   * How long a process keeps re-taking the lock while another waits before it lets the waiter
   * in: a few short operations in a row cost one hand-over instead of one each. Defaults to 100 ms.
   */
  turnMs?: number;
}

export interface FileLock {
  withLock<T>(fn: () => Promise<T>): Promise<T>;
}

interface LockInfo {
  pid: number;
  hostname: string;
  createdAt: number;
  token: string;
}

/** What a waiter saw in the lock file; `raw` and `ino` tell whether it is still the same lock. */
interface SeenLock {
  raw: string;
  ino: number;
  mtimeMs: number;
  info: LockInfo | undefined;
}

export function fileLock({ path, timeoutMs, staleMs, turnMs = TURN_MS }: FileLockOptions): FileLock {
  const breakPath = `${path}.break`;
  // The async call chain that holds the lock runs nested withLock calls directly (re-entrant);
  // `active` turns false on release so a task that outlives the lock does not inherit it.
  const held = new AsyncLocalStorage<{ active: boolean }>();
  // Callers in this process queue here instead of polling the file against each other.
  let queue: Promise<unknown> = Promise.resolve();
  /** When this process first found another waiting, in the turn it has now (undefined: nobody waits). */
  let waiterSince: number | undefined;

  async function acquire(): Promise<FileHandle> {
    const started = Date.now();
    const deadline = started + timeoutMs;
    let signalled = false;
    let staleCheckAt = 0;
    // Someone has waited for a whole turn: let them take the lock first (see the file comment).
    let deferring = false;
    if (!signalFresh(path, WAITING_FRESH_MS)) waiterSince = undefined;
    else if (started - (waiterSince ??= started) >= turnMs) {
      deferring = true;
      waiterSince = undefined;
    }
    try {
      for (;;) {
        // Deferring ends once the lock was taken, the signal is gone or stale (the waiter got it,
        // gave up or died), or after MAX_DEFER_MS, so a planted signal only delays.
        if (deferring && (lockPresent(path) || !signalFresh(path, WAITING_FRESH_MS) || Date.now() - started > MAX_DEFER_MS)) {
          deferring = false;
        }
        if (!deferring) {
          if (!lockPresent(path)) {
            const handle = await tryCreate();
            if (handle) return handle;
          } else if (Date.now() >= staleCheckAt) {
            // Whether the holder is gone is asked at once, then every STALE_CHECK_MS.
            staleCheckAt = Date.now() + STALE_CHECK_MS;
            if (await breakIfStale()) continue;
          }
          signalled = signalWaiting(path) || signalled;
        }
        if (Date.now() >= deadline) throw await timeoutError();
        // A deferring process wakes when the signal changes or goes (the waiter took the lock and
        // took it down); a waiter when the lock changes or goes. Spinning instead cost the waiter
        // the CPU it needed to take its turn on a loaded machine.
        await fileChanged(deferring ? waitingPath(path) : path, POLL_MS * (0.5 + Math.random()));
      }
    } finally {
      if (signalled) clearWaiting(path);
    }
  }

  async function tryCreate(): Promise<FileHandle | undefined> {
    let handle: FileHandle;
    try {
      handle = await open(path, 'wx', 0o600);
    } catch (error) {
      if (errnoCode(error) === 'EEXIST') return undefined;
      throw fsError(error, 'create the lock file', path);
    }
    const info: LockInfo = {
      pid: process.pid,
      hostname: HOST,
      createdAt: Date.now(),
      token: randomBytes(8).toString('hex'),
    };
    try {
      await handle.writeFile(JSON.stringify(info));
      return handle;
    } catch (error) {
      await handle.close().catch(() => undefined);
      await unlink(path).catch(() => undefined);
      throw fsError(error, 'write the lock file', path);
    }
  }

  /** Returns true when the lock is gone (removed by us or its holder), so retry at once. */
  async function breakIfStale(): Promise<boolean> {
    const seen = await readLock(path);
    if (!seen) return true;
    if (!isStale(seen)) return false;
    let breaker: FileHandle;
    try {
      breaker = await open(breakPath, 'wx', 0o600);
    } catch (error) {
      if (errnoCode(error) !== 'EEXIST') throw fsError(error, 'create', breakPath);
      // A breaker we cannot read (a FIFO, a symlink) or dated in the future was planted.
      const breakerSeen = await readLock(breakPath).catch(() => null);
      if (breakerSeen === null || (breakerSeen && Math.abs(Date.now() - breakerSeen.mtimeMs) > BREAKER_STALE_MS)) {
        await unlink(breakPath).catch(() => undefined);
      }
      return false;
    }
    try {
      // Only breakers remove a lock they do not own and they are serialized here, so if the file
      // is still the stale one we saw, nobody can replace it between this check and the unlink.
      const again = await readLock(path);
      if (again && again.ino === seen.ino && again.raw === seen.raw && isStale(again)) {
        await unlink(path).catch((error) => {
          if (errnoCode(error) !== 'ENOENT') throw fsError(error, 'remove the stale lock', path);
        });
      }
      return true;
    } finally {
      await breaker.close().catch(() => undefined);
      await unlink(breakPath).catch(() => undefined);
    }
  }

  function isStale({ info, mtimeMs }: SeenLock): boolean {
    return lockAbandoned(info && { pid: info.pid, host: info.hostname }, Date.now() - mtimeMs, staleMs);
  }

  async function release(handle: FileHandle): Promise<void> {
    try {
      // Unlink only our own lock: if it was judged stale and replaced, the file is someone else's.
      const [ours, current] = await Promise.all([handle.stat(), stat(path).catch(() => undefined)]);
      if (current && current.ino === ours.ino && current.dev === ours.dev) {
        await unlink(path).catch(() => undefined);
      }
    } finally {
      await handle.close().catch(() => undefined);
    }
  }

  async function timeoutError(): Promise<BackendError> {
    const info = (await readLock(path))?.info;
    const holder = info
      ? ` It is held by pid ${info.pid} on ${info.hostname} since ${new Date(info.createdAt).toISOString()}.`
      : '';
    return new BackendError(
      `Timed out after ${timeoutMs} ms waiting for the vault lock ${path}.${holder} ` +
        'If no agent-vault process is using this vault, delete that file and retry.',
    );
  }

  async function runLocked<T>(fn: () => Promise<T>): Promise<T> {
    const handle = await acquire();
    const state = { active: true };
    const heartbeat = setInterval(() => {
      const now = new Date();
      handle.utimes(now, now).catch(() => undefined);
    }, Math.max(staleMs / 3, 10));
    heartbeat.unref();
    try {
      return await held.run(state, fn);
    } finally {
      state.active = false;
      clearInterval(heartbeat);
      await release(handle);
    }
  }

  return {
    withLock<T>(fn: () => Promise<T>): Promise<T> {
      if (held.getStore()?.active) return fn();
      const run = queue.then(() => runLocked(fn));
      queue = run.catch(() => undefined);
      return run;
    },
  };
}

/**
 * A waiter wakes when the lock file changes or goes (fs.watch), and else polls this far apart: on
 * a file system that reports no events it still gets in, about this much later.
 */
const POLL_MS = 20;
/** The default turn (FileLockOptions.turnMs): a waiter waits at most about this plus one operation. */
const TURN_MS = 100;
/** How often a waiter reads the lock to see whether its holder died (at once, then this far apart). */
const STALE_CHECK_MS = 100;
/** A signal untouched for this long was left by a waiter that died (or is not being scheduled). */
const WAITING_FRESH_MS = 500;
/** The longest a process defers to waiters before it takes a free lock anyway. */
const MAX_DEFER_MS = 1_000;

/**
 * Resolves when the file at `path` (the lock, or its waiting signal) changes or goes, or after
 * `ms`. Watching the file, not the directory: the vault's own writes wake nobody.
 */
function fileChanged(path: string, ms: number): Promise<void> {
  return new Promise((resolve) => {
    let watcher: FSWatcher | undefined;
    const done = () => {
      clearTimeout(timer);
      watcher?.close();
      resolve();
    };
    const timer = setTimeout(done, ms);
    try {
      watcher = watch(path, { persistent: false }, done).on('error', done);
    } catch (error) {
      // Gone already: try again now. Unwatchable (no inotify, say): the timer alone.
      if (errnoCode(error) === 'ENOENT') done();
    }
  });
}

function lockPresent(path: string): boolean {
  try {
    return lstatSync(path, { throwIfNoEntry: false }) !== undefined;
  } catch {
    return true; // unreadable: the next attempt (tryCreate) reports it
  }
}

async function readLock(path: string): Promise<SeenLock | undefined> {
  // A FIFO, a symlink (to /dev/zero, say) or a huge file at the lock's path fails here, fast.
  const opened = await openIfPresent(path, 'read', MAX_LOCK_BYTES);
  if (!opened) return undefined;
  const { handle, stats } = opened;
  try {
    // Stat and read through one handle so both describe the same file, even if it is replaced.
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(MAX_LOCK_BYTES), 0, MAX_LOCK_BYTES, 0);
    const raw = buffer.toString('utf8', 0, bytesRead);
    return { raw, ino: Number(stats.ino), mtimeMs: Number(stats.mtimeNs / 1_000_000n), info: parseLockInfo(raw) };
  } catch (error) {
    throw fsError(error, 'read', path);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** What we write is about 120 bytes; a lock file longer than this was not written by us. */
const MAX_LOCK_BYTES = 512;

/**
 * The holder a lock file names, only when every field is what a holder writes: a bogus one
 * (pid 0 or -1, which process.kill reads as a process group; a date outside Date's range) counts
 * as no holder, and such a lock is abandoned by its age alone.
 */
function parseLockInfo(raw: string): LockInfo | undefined {
  try {
    const info = JSON.parse(raw) as Partial<LockInfo>;
    if (isHolderPid(info.pid) && typeof info.hostname === 'string' && info.hostname.length <= 255 &&
      typeof info.createdAt === 'number' && Number.isFinite(new Date(info.createdAt).getTime()) &&
      typeof info.token === 'string' && info.token.length <= 64) {
      return info as LockInfo;
    }
  } catch {
    // An empty or half-written file: handled by its age.
  }
  return undefined;
}
