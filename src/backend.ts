import type { AuditSink } from './audit/index.ts';
import { BackendError, VaultError } from './errors.ts';

/**
 * The storage contract: opaque bytes by key. Encryption, naming and policy live in the core, so
 * a backend only stores what it is given. The core's keys are short ASCII strings (`header`,
 * `s/<hex>`, `a/<hex>`: no secret or agent name ever reaches a backend), but a backend should
 * take any string key (the conformance suite checks awkward ones); values are already sealed.
 */
export interface Backend {
  /** Short name for errors and logs, e.g. `file` or `memory`. */
  readonly name: string;
  /** The stored bytes, or `undefined` when the key is absent. */
  get(key: string): Promise<Uint8Array | undefined>;
  /**
   * Optional: a fingerprint of the value stored under `key` now, cheap and synchronous (the file
   * backend: one lstat; memory: a write counter), or `undefined` when there is none or the store
   * cannot vouch for it yet (a file written within the last second). Two calls that return the
   * same string guarantee the value did not change in between, so a caller that takes a revision
   * *before* a `get` may keep what it derived from those bytes (a verified signature) for as long
   * as the same revision comes back.
   */
  revision?(key: string): string | undefined;
  /** Store bytes under a key, replacing any previous value, atomically. */
  set(key: string, value: Uint8Array): Promise<void>;
  /** Remove a key; removing an absent key is not an error. */
  delete(key: string): Promise<void>;
  /** Every key that starts with `prefix`, in any order. */
  list(prefix: string): Promise<string[]>;
  /**
   * Optional: store `value` only if the current value equals `expected` byte for byte
   * (`undefined` meaning absent; `value` undefined meaning delete). Returns whether it stored.
   */
  compareAndSwap?(
    key: string,
    expected: Uint8Array | undefined,
    value: Uint8Array | undefined,
  ): Promise<boolean>;
  /**
   * Optional: run `fn` while holding an exclusive lock shared by every process using this
   * store, so a read-modify-write of several keys is not interleaved with another writer's.
   */
  withLock?<T>(fn: () => Promise<T>): Promise<T>;
  /** Optional: release connections and handles. */
  close?(): Promise<void>;
  /**
   * Optional: the audit sink that goes with this store (the file backend's `audit.jsonl`, a
   * database's table), used by a vault opened on it without `{ audit }`. A vault on a backend
   * without one must be given `{ audit: sink }` or `{ audit: false }`: it never runs unaudited
   * by accident.
   */
  auditSink?(): AuditSink;
}

/**
 * The backend as the core uses it: any error that is not already a VaultError (a custom
 * backend's driver error, say) becomes a BackendError naming the backend and the operation,
 * with the original as `cause`, so callers can always match on `code`.
 */
export function guardBackend(backend: Backend): Backend {
  const guard = <A extends unknown[], R>(operation: string, fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      try {
        return await fn(...args);
      } catch (error) {
        throw asBackendError(backend, operation, error);
      }
    };
  const guarded: Backend = {
    name: backend.name,
    get: guard('read a record', (key) => backend.get(key)),
    set: guard('write a record', (key, value) => backend.set(key, value)),
    delete: guard('delete a record', (key) => backend.delete(key)),
    list: guard('list records', (prefix) => backend.list(prefix)),
  };
  // Optional capabilities stay optional: present on the guard only where the backend has them.
  if (backend.revision) {
    const revision = backend.revision.bind(backend);
    // Synchronous, so guarded in line rather than by `guard` (which makes an async function).
    guarded.revision = (key) => {
      try {
        return revision(key);
      } catch (error) {
        throw asBackendError(backend, 'check a record', error);
      }
    };
  }
  if (backend.compareAndSwap) guarded.compareAndSwap = guard('compare-and-swap a record', backend.compareAndSwap.bind(backend));
  if (backend.withLock) {
    const lock = guard('take its lock', <T>(fn: () => Promise<T>) => backend.withLock!(fn));
    guarded.withLock = lock as Backend['withLock'];
  }
  if (backend.close) guarded.close = guard('close', () => backend.close!());
  if (backend.auditSink) guarded.auditSink = () => backend.auditSink!();
  return guarded;
}

function asBackendError(backend: Backend, operation: string, error: unknown): VaultError {
  if (error instanceof VaultError) return error;
  const code = (error as { code?: unknown })?.code;
  return new BackendError(
    `The ${backend.name} backend failed to ${operation}${typeof code === 'string' ? ` (${code})` : ''}. ` +
      'Check that the store is reachable and writable, then retry.',
    { cause: error },
  );
}
