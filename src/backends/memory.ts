import type { Backend } from '../backend.ts';
import { equalBytes } from '../_bytes.ts';
import { memoryAuditSink } from '../audit/memory.ts';

/** A stored value and its revision: the number of the write that stored it, never given to another. */
interface Stored {
  value: Uint8Array;
  revision: string;
}

/**
 * A backend in this process's memory: for tests and short-lived vaults. Values are copied in
 * and out so a caller mutating its buffer cannot change what is stored. Keys are grouped by
 * their first `/`-separated segment, so listing one kind of record (`a/`) does not scan all.
 * It brings its own audit log, in memory too, shared by every vault opened on this backend.
 */
export function memoryBackend(): Backend {
  const groups = new Map<string, Map<string, Stored>>();
  const groupOf = (key: string) => key.slice(0, Math.max(0, key.indexOf('/')));
  // Every write takes the next number, so a revision names one stored value and never another.
  let writes = 0;
  const store = (key: string, value: Uint8Array) => {
    const name = groupOf(key);
    let group = groups.get(name);
    if (!group) groups.set(name, (group = new Map()));
    group.set(key, { value: Uint8Array.from(value), revision: String(++writes) });
  };
  const read = (key: string) => groups.get(groupOf(key))?.get(key);
  let queue: Promise<unknown> = Promise.resolve();
  const audit = memoryAuditSink();
  return {
    name: 'memory',
    async get(key) {
      return read(key)?.value.slice();
    },
    revision(key) {
      return read(key)?.revision;
    },
    async set(key, value) {
      store(key, value);
    },
    async delete(key) {
      groups.get(groupOf(key))?.delete(key);
    },
    async list(prefix) {
      // A prefix with a `/` can only match keys of its own group.
      const candidates = prefix.includes('/') ? [groups.get(groupOf(prefix)) ?? new Map()] : [...groups.values()];
      return candidates.flatMap((group) => [...group.keys()].filter((key) => key.startsWith(prefix)));
    },
    async compareAndSwap(key, expected, value) {
      if (!equalBytes(read(key)?.value, expected)) return false;
      if (value === undefined) groups.get(groupOf(key))?.delete(key);
      else store(key, value);
      return true;
    },
    withLock(fn) {
      const run = queue.then(fn, fn);
      queue = run.catch(() => undefined);
      return run;
    },
    auditSink() {
      return audit;
    },
  };
}
