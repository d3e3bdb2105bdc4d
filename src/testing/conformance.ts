import assert from 'node:assert/strict';
import type { Backend } from '../backend.ts';

/**
 * The shared suite every backend runs, shipped as `agent-vault/testing` so a custom backend can
 * run it too. It takes the test runner as an argument (vitest, jest, node:test's describe/it all
 * fit) and asserts with node:assert, so it depends on no test framework:
 *
 *   backendConformance({ describe, it }, () => fileBackend({ dir: mkdtempSync(...) }));
 *
 * Every test gets a fresh backend from `factory` and closes it afterwards. The optional
 * capabilities (`compareAndSwap`, `withLock`, `close`) are tested unless listed in
 * `options.without`; then their tests are not registered at all (nothing passes unchecked), and a
 * backend that lacks a capability it did not declare absent fails.
 */
export interface ConformanceRunner {
  describe(name: string, fn: () => void): void;
  it(name: string, fn: () => Promise<void>, timeout?: number): void;
}

export interface ConformanceOptions {
  /** Title of the enclosing `describe`. Defaults to `backend conformance`. */
  name?: string;
  /** Per-test timeout handed to `it`, for slow remote stores. Defaults to the runner's own. */
  timeoutMs?: number;
  /** Optional capabilities this backend deliberately lacks. Defaults to none. */
  without?: Capability[];
}

export type Capability = 'compareAndSwap' | 'withLock' | 'close';

type BackendFactory = () => Backend | Promise<Backend>;

export function backendConformance(
  runner: ConformanceRunner,
  factory: BackendFactory,
  options: ConformanceOptions = {},
): void {
  const test = (name: string, body: (backend: Required<Backend>) => Promise<void>, capability?: Capability) => {
    if (capability && options.without?.includes(capability)) return;
    const run = async () => {
      const backend = await factory();
      if (capability && typeof backend[capability] !== 'function') {
        assert.fail(`the backend has no ${capability}(); implement it or pass { without: ['${capability}'] }`);
      }
      try {
        await body(backend as Required<Backend>);
      } finally {
        if (!closedByTest.has(backend)) await backend.close?.();
      }
    };
    if (options.timeoutMs === undefined) runner.it(name, run);
    else runner.it(name, run, options.timeoutMs);
  };

  runner.describe(options.name ?? 'backend conformance', () => {
    test('returns undefined for a missing key', async (backend) => {
      assert.equal(await backend.get('missing'), undefined);
      await backend.set('a/b', bytes(1));
      assert.equal(await backend.get('a'), undefined, 'a prefix of a stored key is not a key');
    });

    test('round-trips every byte value exactly', async (backend) => {
      const all = Uint8Array.from({ length: 256 }, (_, i) => i);
      await backend.set('bytes', all);
      assertBytes(await backend.get('bytes'), all);
    });

    test('round-trips a 1 MiB value exactly', async (backend) => {
      const big = pseudoRandom(1024 * 1024, 7);
      await backend.set('big', big);
      assertBytes(await backend.get('big'), big);
    });

    test('stores an empty value as empty, not as missing', async (backend) => {
      await backend.set('empty', new Uint8Array(0));
      assertBytes(await backend.get('empty'), new Uint8Array(0));
      assert.deepEqual(await backend.list('empty'), ['empty']);
    });

    test('overwrites, leaving no bytes of the longer old value', async (backend) => {
      await backend.set('k', pseudoRandom(1000, 1));
      await backend.set('k', bytes(1, 2, 3));
      assertBytes(await backend.get('k'), bytes(1, 2, 3));
    });

    test('deletes, and deleting a missing key is not an error', async (backend) => {
      await backend.set('k', bytes(1));
      await backend.delete('k');
      assert.equal(await backend.get('k'), undefined);
      assert.deepEqual(await backend.list(''), []);
      await backend.delete('k');
      await backend.delete('never-set');
    });

    test('lists exactly the keys with a prefix', async (backend) => {
      for (const key of ['p', 'p/a', 'p/b', 'p/c/d', 'q/a', 'pp']) await backend.set(key, bytes(1));
      assert.deepEqual(sorted(await backend.list('p/')), ['p/a', 'p/b', 'p/c/d']);
      assert.deepEqual(sorted(await backend.list('p')), ['p', 'p/a', 'p/b', 'p/c/d', 'pp']);
      assert.deepEqual(sorted(await backend.list('')), ['p', 'p/a', 'p/b', 'p/c/d', 'pp', 'q/a']);
      assert.deepEqual(await backend.list('zzz'), []);
      assert.deepEqual(await backend.list('p/a/'), []);
    });

    test('keeps concurrent writes of different keys', async (backend) => {
      const keys = Array.from({ length: 20 }, (_, i) => `c/${i}`);
      await Promise.all(keys.map((key, i) => backend.set(key, bytes(i))));
      assert.deepEqual(sorted(await backend.list('c/')), sorted(keys));
      for (const [i, key] of keys.entries()) assertBytes(await backend.get(key), bytes(i));
    });

    test('stores awkward keys as distinct keys', async (backend) => {
      const keys = [
        '/', '//', '/abs', '.', '..', '../x', 'a/../../b', 'a/./b', 'a\\..\\b', 'C:\\x', '~',
        'café', 'cafe\u0301', 'Key', 'key', 'KEY', '__proto__', 'constructor', 'toString',
        'hasOwnProperty', ' ', 'tab\tkey', 'new\nline', '%2e%2e', '🔑/🗝️', 'x'.repeat(1000),
        `${'y/'.repeat(400)}z`,
      ];
      assert.equal(new Set(keys).size, keys.length);
      for (const [i, key] of keys.entries()) await backend.set(key, pseudoRandom(i + 1, i));
      for (const [i, key] of keys.entries()) {
        assertBytes(await backend.get(key), pseudoRandom(i + 1, i), `key #${i}`);
      }
      assert.deepEqual(sorted(await backend.list('')), sorted(keys));
      assert.deepEqual(sorted(await backend.list('..')), ['..', '../x']);
      assert.deepEqual(await backend.list('caf\u00e9'), ['caf\u00e9'], 'NFC and NFD are distinct');
      assert.equal(await backend.get('prototype'), undefined);
    });

    test('copies values in and out', async (backend) => {
      const input = bytes(1, 2, 3);
      await backend.set('k', input);
      input[0] = 99;
      const output = await backend.get('k');
      assertBytes(output, bytes(1, 2, 3), 'mutating the input after set');
      output![1] = 99;
      assertBytes(await backend.get('k'), bytes(1, 2, 3), 'mutating the output of get');
    });

    test('revision, where the backend has one, is stable while a value stands and never names another', async (backend) => {
      const revision = (backend as Backend).revision?.bind(backend);
      if (!revision) return; // optional, and nothing to check without it

      assert.equal(revision('k'), undefined, 'an absent key has no revision');
      const seen = new Set<string>();
      const writes = [() => backend.set('k', bytes(1)), () => backend.set('k', bytes(2)), () => backend.set('k', bytes(2))];
      if ((backend as Backend).compareAndSwap) writes.push(async () => void (await backend.compareAndSwap('k', bytes(2), bytes(3))));
      for (const [i, write] of writes.entries()) {
        await write();
        const now = revision('k');
        if (now === undefined) continue; // a store may decline to vouch (a file written just now)
        assert.equal(revision('k'), now, 'the same while nothing changed');
        assert.ok(!seen.has(now), `write ${i + 1} got a revision an earlier value had`);
        seen.add(now);
      }
      await backend.delete('k');
      assert.equal(revision('k'), undefined, 'a deleted key has no revision');
    });

    test('compareAndSwap stores only when the current value matches', async (backend) => {
      assert.equal(await backend.compareAndSwap('k', bytes(1), bytes(2)), false, 'absent ≠ bytes');
      assert.equal(await backend.get('k'), undefined);
      assert.equal(await backend.compareAndSwap('k', undefined, bytes(1)), true, 'create if absent');
      assert.equal(await backend.compareAndSwap('k', undefined, bytes(2)), false, 'present ≠ absent');
      assert.equal(await backend.compareAndSwap('k', bytes(9), bytes(2)), false);
      assert.equal(await backend.compareAndSwap('k', bytes(1, 0), bytes(2)), false, 'longer ≠ shorter');
      assertBytes(await backend.get('k'), bytes(1));
      assert.equal(await backend.compareAndSwap('k', bytes(1), bytes(2)), true);
      assertBytes(await backend.get('k'), bytes(2));
    }, 'compareAndSwap');

    test('compareAndSwap lets exactly one of 10 concurrent writers win', async (backend) => {
      await backend.set('k', bytes(0));
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => backend.compareAndSwap!('k', bytes(0), bytes(i + 1))),
      );
      assert.equal(results.filter(Boolean).length, 1, `winners: ${results.join(', ')}`);
      assertBytes(await backend.get('k'), bytes(results.indexOf(true) + 1));
    }, 'compareAndSwap');

    test('compareAndSwap deletes with an undefined value', async (backend) => {
      await backend.set('k', bytes(1));
      assert.equal(await backend.compareAndSwap('k', bytes(2), undefined), false);
      assertBytes(await backend.get('k'), bytes(1));
      assert.equal(await backend.compareAndSwap('k', bytes(1), undefined), true);
      assert.equal(await backend.get('k'), undefined);
      assert.deepEqual(await backend.list(''), []);
    }, 'compareAndSwap');

    test('withLock excludes concurrent read-modify-write cycles', async (backend) => {
      await backend.set('counter', encodeCount(0));
      await Promise.all(Array.from({ length: 10 }, () => backend.withLock!(async () => {
        const count = decodeCount(await backend.get('counter'));
        await new Promise((resolve) => setTimeout(resolve, 1));
        await backend.set('counter', encodeCount(count + 1));
      })));
      assert.equal(decodeCount(await backend.get('counter')), 10);
    }, 'withLock');

    test('withLock returns the result, passes errors on and then releases', async (backend) => {
      assert.equal(await backend.withLock(async () => 42), 42);
      const failure = new Error('inside the lock');
      await assert.rejects(backend.withLock(async () => { throw failure; }), (error) => error === failure);
      assert.equal(await backend.withLock(async () => 'again'), 'again');
    }, 'withLock');

    test('close resolves', async (backend) => {
      await backend.set('k', bytes(1));
      closedByTest.add(backend);
      await backend.close();
    }, 'close');
  });
}

/** Backends the close test already closed, so the harness does not close them twice. */
const closedByTest = new WeakSet<Backend>();

function bytes(...values: number[]): Uint8Array {
  return Uint8Array.from(values);
}

/** Deterministic bytes (xorshift32), so a failure reproduces. */
function pseudoRandom(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let state = (seed * 2654435761 + 1) >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    out[i] = state & 0xff;
  }
  return out;
}

function encodeCount(count: number): Uint8Array {
  return new TextEncoder().encode(String(count));
}

function decodeCount(value: Uint8Array | undefined): number {
  assert.ok(value, 'the counter is missing');
  return Number(new TextDecoder().decode(value));
}

function sorted(keys: string[]): string[] {
  return [...keys].sort();
}

/** Compares bytes without printing megabytes on failure: reports the length or first difference. */
function assertBytes(actual: Uint8Array | undefined, expected: Uint8Array, label = 'value'): void {
  assert.ok(actual instanceof Uint8Array, `${label}: expected a Uint8Array, got ${String(actual)}`);
  assert.equal(actual.length, expected.length, `${label}: length`);
  for (let i = 0; i < expected.length; i++) {
    if (actual[i] !== expected[i]) {
      assert.fail(`${label}: byte ${i} is ${actual[i]}, expected ${expected[i]}`);
    }
  }
}
