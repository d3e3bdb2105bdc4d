/**
 * Does the real key stay in the client process's memory after a request? A child process (only
 * the client side: the vault records come from a file, the provider stand-in runs here) makes
 * plain and streamed calls, keeps the client object, forces GCs and writes a V8 heap snapshot.
 * We count the key's occurrences in it.
 *
 * What is counted: every JS string on the V8 heap after a full GC (a snapshot only holds what
 * survives one), including the parts of concatenated and sliced strings, up to 1 MB each (the
 * snapshot's string limit is raised from 1 KiB). Two controls show the search would find a key
 * left in a string: a secret the child reads with `vault.get()` and keeps, and a baseline run
 * with the SDK's own client given the key as `apiKey`, as apps do today.
 *
 * What is not counted: the bytes of ArrayBuffers and Node Buffers (a snapshot does not hold
 * them; the vault wipes its decrypted buffer, see the SecretBuffer tests), native memory outside
 * the V8 heap (undici's and the socket's write buffers, libsodium's heap), and this process,
 * where the stand-in provider necessarily parses the key it receives.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { heapDir, occurrences, snapshotAfterRequests } from './_heap.ts';
import { credentialOf, providerHandler } from './_servers.ts';

const dir = heapDir();
const child = join(import.meta.dirname, '_heap-child.ts');
const measure = (sdk: 'openai' | 'anthropic', mode: 'vault' | 'plain') => snapshotAfterRequests(dir, {
  child,
  args: [sdk, mode],
  handler: providerHandler(),
  baseURL: (origin) => (sdk === 'openai' ? `${origin}/v1` : origin),
  keyOf: credentialOf,
});

describe('the client process holds no copy of the key after its requests (V8 heap snapshot)', () => {
  for (const sdk of ['openai', 'anthropic'] as const) {
    it(`${sdk}: 0 copies of the key through the agent-vault client; the kept control string is found`, async () => {
      const { keyCopies, controlCopies, snapshot } = await measure(sdk, 'vault');
      expect(controlCopies).toBeGreaterThanOrEqual(1);
      expect(occurrences(snapshot, 'agent-vault-placeholder-')).toBeGreaterThanOrEqual(1);
      expect(keyCopies).toBe(0);
    });

    it(`${sdk}: baseline, the SDK's own client given apiKey keeps the key in memory`, async () => {
      const { keyCopies } = await measure(sdk, 'plain');
      expect(keyCopies).toBeGreaterThanOrEqual(1);
    });
  }
});
