/**
 * The audit lock as a file sink holds it: taken for an append and kept for the appends that
 * follow within the same turn of the event loop, so a burst (requests in flight resolving
 * together, a broker's outcome record and the next request's resolution, a loop of resolutions)
 * pays one link and one unlink for all its records instead of one each: about 11 µs of the
 * ~25 µs an append cost. Each record is still written (write() returned) before its append
 * resolves, under the lock, so the chain and the fail-closed promise are what they were; only
 * the moment the lock is given up moves. It is given up:
 * - when this turn of the event loop ends (setImmediate), so another process never waits for
 *   more than what this process does in one turn;
 * - after every append while another process signals that it waits (_lock.ts, `.waiting`), so a
 *   waiter waits as long as it did when every append released the lock;
 * - once it has been held HOLD_MAX_MS, so a process that never yields to the event loop gives
 *   other writers (older versions too, which do not signal) their chance as it did before;
 * - when an append fails, when the sink closes, and at exit.
 *
 * A kept lock is only reused while it is younger than HOLD_MAX_MS by this process's monotonic
 * clock: far younger than the `staleMs` (10 s) after which a waiter may judge a live holder's
 * lock abandoned and break it, so a reused lock can never be one that was broken meanwhile (a
 * turn that ran long, or a process stopped with SIGSTOP, takes the lock afresh).
 */
import { acquireAuditLock, type AuditLockOptions, type HeldLock, othersWaiting, tryAuditLock } from './_lock.ts';

/** Longest a kept lock is held or reused (ms). */
const HOLD_MAX_MS = 1;
/**
 * How often a holder looks for a waiter's signal (one lstat) from the second append of a burst on,
 * while none was seen (ms). A waiter sleeps at least 0.25 ms between attempts.
 */
const CHECK_EVERY_MS = 0.1;

export class AppendLock {
  readonly #options: AuditLockOptions;
  #held: HeldLock | undefined;
  #heldSince = 0;
  #checkedAt = 0;
  /** The last look found a waiter: look again after every append until it is gone. */
  #contended = false;
  /** Appends under the lock held now. */
  #appends = 0;
  #releaseQueued = false;

  constructor(options: AuditLockOptions) {
    this.#options = options;
  }

  /** Run `fn` holding the lock; synchronous when the lock is free (or already held) and `fn` is. */
  run<T>(fn: () => T | Promise<T>): T | Promise<T> {
    if (this.#held && performance.now() - this.#heldSince >= HOLD_MAX_MS) this.release();
    const lock = this.#held ?? tryAuditLock(this.#options.path);
    if (!lock) return acquireAuditLock(this.#options).then((acquired) => this.#holding(acquired, fn));
    return this.#holding(lock, fn);
  }

  /** Give the lock up now, if this sink holds it. */
  release(): void {
    const held = this.#held;
    this.#held = undefined;
    held?.release();
  }

  #holding<T>(lock: HeldLock, fn: () => T | Promise<T>): T | Promise<T> {
    if (this.#held !== lock) {
      this.#held = lock;
      this.#heldSince = performance.now();
      this.#checkedAt = Number.NEGATIVE_INFINITY;
      // A burst of one (the usual request) gives the lock up when the turn ends without looking;
      // the second append of a burst looks, then at most every CHECK_EVERY_MS, unless a waiter
      // was seen last time, when every append looks.
      this.#appends = this.#contended ? 1 : 0;

    }
    let result: T | Promise<T>;
    try {
      result = fn();
    } catch (error) {
      this.release();
      throw error;
    }
    if (!(result instanceof Promise)) {
      this.#keepOrRelease();
      return result;
    }
    return result.then((value) => {
      this.#keepOrRelease();
      return value;
    }, (error: unknown) => {
      this.release();
      throw error;
    });
  }

  #keepOrRelease(): void {
    const now = performance.now();
    if (now - this.#heldSince >= HOLD_MAX_MS) return this.release();
    if (this.#appends++ > 0 && (this.#contended || now - this.#checkedAt >= CHECK_EVERY_MS)) {
      this.#checkedAt = now;
      this.#contended = othersWaiting(this.#options.path);
      if (this.#contended) return this.release();
    }
    if (this.#releaseQueued) return;
    this.#releaseQueued = true;
    setImmediate(() => {
      this.#releaseQueued = false;
      this.release();
    });
  }
}
