/**
 * The audit lock as a file sink holds it: taken for an append and kept while this process keeps
 * appending, so a run of records (a burst of requests resolving together, a loop of
 * resolutions, and an agent that makes one request after another) pays one link and one unlink
 * for all of them, where each request made one at a time paid 12–26 µs of syscalls (link, lstat,
 * unlink) for its one record. Each record is still written (write() returned) before its append
 * resolves, under the lock, so the chain and the fail-closed promise are what they were; only the
 * moment the lock is given up moves.
 *
 * An append that comes IDLE_MS or more after the previous one is lone (an agent whose requests
 * take seconds): its lock is given up when this turn of the event loop ends (setImmediate), as
 * before, and no timer runs for it. One that follows the previous within IDLE_MS keeps the lock
 * across turns, and it is given up:
 * - once this process has not appended for IDLE_MS: one unref'd timer, refreshed by each append
 *   (never one timer per append), fires every LOOK_MS while the lock is idle;
 * - as soon as another process (or sink) signals that it waits (_lock.ts, `.waiting`): the holder
 *   looks (one lstat) after an append if it has not for LOOK_MS, and at each tick of that timer
 *   while idle, so a waiter's signal is seen within about LOOK_MS (1 ms) and one append, busy or
 *   idle: the 1 ms a holder could keep the lock before (HOLD_MAX_MS was 1), and within the
 *   waiter's own sleeps between attempts (0.25 ms, doubling). After that, for CONTENDED_MS, this
 *   process gives the lock up when each turn ends, as before, so two processes appending side by
 *   side do not each keep the lock idle for the other to wait on;
 * - once it has been held HOLD_MAX_MS, so writers that do not signal (older versions) get their
 *   chance, and the head is re-read from the file;
 * - when an append fails, when the sink closes, and at exit (_lock.ts).
 * Never while an append (or a verify) is still running under it.
 *
 * A kept lock is only reused while it is younger than HOLD_MAX_MS (20 ms, at most a tenth of
 * `staleMs`) by this process's monotonic clock: far younger than the `staleMs` (10 s) after which
 * a waiter may judge a live holder's lock abandoned and break it. The waiter judges by the wall
 * clock (now against the lock's ctime), so the lock must also be younger than `staleMs / 2` by
 * the wall clock, and not from its future. So a reused lock can never be one that was broken
 * meanwhile: a process stopped with SIGSTOP (monotonic time passes) or a wall clock stepped ahead
 * or back takes the lock afresh.
 */
import { acquireAuditLock, type AuditLockOptions, type HeldLock, othersWaiting, tryAuditLock } from './_lock.ts';

/** Longest a lock is kept and reused, from the moment it was taken (ms); capped at staleMs / 10. */
const HOLD_MAX_MS = 20;
/** An append this soon after the previous one keeps the lock across turns; this idle, it is given up (ms). */
const IDLE_MS = 2;
/**
 * How often a kept lock looks for a waiter's signal: after an append, if it has not for this
 * long, and while idle, by the timer (ms; Node's timers have 1 ms granularity). An agent making a
 * request every 0.6 ms looks after every other record.
 */
const LOOK_MS = 1;
/** After a waiter was seen (or this process had to wait), locks are not kept across turns for this long (ms). */
const CONTENDED_MS = 100;

export class AppendLock {
  readonly #options: AuditLockOptions;
  readonly #holdMaxMs: number;
  #held: HeldLock | undefined;
  /** When the lock held now was taken, by the monotonic clock and by the wall clock. */
  #heldSince = 0;
  #heldSinceWall = 0;
  #checkedAt = Number.NEGATIVE_INFINITY;
  /** Until then, the lock is given up after every turn (see CONTENDED_MS). */
  #contendedUntil = Number.NEGATIVE_INFINITY;
  /** When the last append under the lock ended; -Infinity before the first. */
  #lastAppendAt = Number.NEGATIVE_INFINITY;
  /** Functions running under the lock now (an fsync or a verify outlasts its turn). */
  #running = 0;
  /** The lock is kept across turns (the idle timer gives it up), else given up when the turn ends. */
  #kept = false;
  #releaseQueued = false;
  #idleTimer: NodeJS.Timeout | undefined;

  constructor(options: AuditLockOptions) {
    this.#options = options;
    this.#holdMaxMs = Math.max(0, Math.min(HOLD_MAX_MS, options.staleMs / 10));
  }

  /** Run `fn` holding the lock; synchronous when the lock is free (or already held) and `fn` is. */
  run<T>(fn: () => T | Promise<T>): T | Promise<T> {
    if (this.#held && !this.#young()) this.release();
    const lock = this.#held ?? tryAuditLock(this.#options.path);
    if (!lock) {
      return acquireAuditLock(this.#options).then((acquired) => {
        // We had to wait: someone else appends too, so do not keep the lock idle for them to wait on.
        this.#contendedUntil = performance.now() + CONTENDED_MS;
        return this.#holding(acquired, fn);
      });
    }
    return this.#holding(lock, fn);
  }

  /** Give the lock up now, if this sink holds it (the caller knows nothing runs under it). */
  release(): void {
    const held = this.#held;
    this.#held = undefined;
    this.#kept = false;
    held?.release();
  }

  /**
   * Whether the lock held now may still be reused: younger than HOLD_MAX_MS by the monotonic
   * clock, and, by the wall clock that a waiter judges staleness with, neither older than half of
   * `staleMs` nor from the future (the clock was stepped).
   */
  #young(): boolean {
    const wall = Date.now() - this.#heldSinceWall;
    return performance.now() - this.#heldSince < this.#holdMaxMs && wall >= 0 && wall < this.#options.staleMs / 2;
  }

  #holding<T>(lock: HeldLock, fn: () => T | Promise<T>): T | Promise<T> {
    if (this.#held !== lock) {
      this.#held = lock;
      this.#heldSince = performance.now();
      this.#heldSinceWall = Date.now();
      this.#checkedAt = Number.NEGATIVE_INFINITY;
    }
    const startedAt = performance.now();
    this.#running++;
    let result: T | Promise<T>;
    try {
      result = fn();
    } catch (error) {
      this.#running--;
      if (this.#running === 0) this.release();
      throw error;
    }
    if (!(result instanceof Promise)) {
      this.#running--;
      this.#keepOrRelease(startedAt);
      return result;
    }
    return result.then((value) => {
      this.#running--;
      this.#keepOrRelease(startedAt);
      return value;
    }, (error: unknown) => {
      this.#running--;
      if (this.#running === 0) this.release();
      throw error;
    });
  }

  /** After an append that started at `startedAt`: keep the lock, or give it up now or when the turn ends. */
  #keepOrRelease(startedAt: number): void {
    const now = performance.now();
    const follows = startedAt - this.#lastAppendAt < IDLE_MS;
    this.#lastAppendAt = now;
    if (this.#running > 0) return; // the one still running decides when it ends
    if (!this.#young()) return this.release();
    const contended = now < this.#contendedUntil;
    // A lone append gives the lock up when the turn ends without looking; a kept lock looks every
    // LOOK_MS; while contended, every append looks (as every append did before).
    if ((contended || (follows && now - this.#checkedAt >= LOOK_MS)) && this.#waiterSeen(now)) {
      return this.release();
    }
    if (follows && !contended) {
      this.#kept = true;
      this.#idleTimer ??= setTimeout(() => this.#idleTick(), LOOK_MS).unref();
      this.#idleTimer.refresh();
      return;
    }
    this.#kept = false;
    if (this.#releaseQueued) return;
    this.#releaseQueued = true;
    setImmediate(() => {
      this.#releaseQueued = false;
      // An append since may have decided to keep it, or be running under it.
      if (!this.#kept && this.#running === 0) this.release();
    });
  }

  /** One look for a waiter's signal; remembers a waiter seen. */
  #waiterSeen(now: number): boolean {
    this.#checkedAt = now;
    if (!othersWaiting(this.#options.path)) return false;
    this.#contendedUntil = now + CONTENDED_MS;
    return true;
  }

  /** The idle timer: give a kept lock up once idle for IDLE_MS, too old, or waited for; else look again later. */
  #idleTick(): void {
    if (!this.#held || !this.#kept || this.#running > 0) return; // an append running will decide
    const now = performance.now();
    // Half a tick's slack: the second tick after the last append (at about IDLE_MS) gives it up even if it fires early.
    if (now - this.#lastAppendAt >= IDLE_MS - LOOK_MS / 2 || !this.#young() || this.#waiterSeen(now)) return this.release();
    this.#idleTimer!.refresh();
  }
}
