import type { Backend } from '../backend.ts';
import { bytesEqual } from '../backend.ts';

/**
 * A backend in this process's memory: for tests and short-lived vaults. Values are copied in
 * and out so a caller mutating its buffer cannot change what is stored.
 */
export function memoryBackend(): Backend {
  const store = new Map<string, Uint8Array>();
  let queue: Promise<unknown> = Promise.resolve();
  return {
    name: 'memory',
    async get(key) {
      const value = store.get(key);
      return value && value.slice();
    },
    async set(key, value) {
      store.set(key, Uint8Array.from(value));
    },
    async delete(key) {
      store.delete(key);
    },
    async list(prefix) {
      return [...store.keys()].filter((key) => key.startsWith(prefix));
    },
    async compareAndSwap(key, expected, value) {
      if (!bytesEqual(store.get(key), expected)) return false;
      if (value === undefined) store.delete(key);
      else store.set(key, Uint8Array.from(value));
      return true;
    },
    withLock(fn) {
      const run = queue.then(fn, fn);
      queue = run.catch(() => undefined);
      return run;
    },
  };
}
