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
import { execFile } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createVault } from '../../src/index.ts';
import { memoryBackend } from '../../src/backends/memory.ts';
import { FAST_KDF, fakeKey, startServer, tempDir } from '../_fixtures/index.ts';
import { credentialOf, PROVIDER_SERVER, providerHandler } from './_servers.ts';

const run = promisify(execFile);
const dir = tempDir('agent-vault-heap-');

function occurrences(haystack: string, needle: string): number {
  let count = 0;
  for (let at = haystack.indexOf(needle); at !== -1; at = haystack.indexOf(needle, at + needle.length)) count++;
  return count;
}

async function snapshotAfterRequests(sdk: 'openai' | 'anthropic', mode: 'vault' | 'plain') {
  const key = fakeKey('sk-heap');
  const control = fakeKey('control');
  const backend = memoryBackend();
  const owner = await createVault({ backend, passphrase: 'x', passphraseParams: FAST_KDF });
  await owner.set('provider-api-key', key);
  await owner.set('control-secret', control);
  const { token } = await owner.createAgent('heap-agent', { allow: ['*'], ttl: '1h' });
  const records: Record<string, string> = {};
  for (const name of await backend.list('')) records[name] = Buffer.from((await backend.get(name))!).toString('base64');
  const recordsPath = join(dir, `${sdk}-${mode}-records.json`);
  const snapshotPath = join(dir, `${sdk}-${mode}.heapsnapshot`);
  writeFileSync(recordsPath, JSON.stringify(records));

  const server = await startServer(providerHandler(), PROVIDER_SERVER);
  try {
    const baseURL = sdk === 'openai' ? `${server.origin}/v1` : server.origin;
    const child = join(import.meta.dirname, '_heap-child.ts');
    const { stdout } = await run(
      process.execPath,
      ['--expose-gc', '--heap-snapshot-string-limit=1000000', child, sdk, mode, baseURL, recordsPath, snapshotPath],
      { env: { ...process.env, AGENT_VAULT_TOKEN: token }, timeout: 30_000 },
    );
    expect(stdout).toContain('snapshot written');
  } finally {
    await server.close();
  }
  expect(server.requests.length).toBeGreaterThanOrEqual(2);
  for (const request of server.requests) expect(credentialOf(request)).toBe(key);
  const snapshot = readFileSync(snapshotPath, 'latin1');
  rmSync(snapshotPath);
  return { keyCopies: occurrences(snapshot, key), controlCopies: occurrences(snapshot, control), snapshot };
}

describe('the client process holds no copy of the key after its requests (V8 heap snapshot)', () => {
  for (const sdk of ['openai', 'anthropic'] as const) {
    it(`${sdk}: 0 copies of the key through the agent-vault client; the kept control string is found`, async () => {
      const { keyCopies, controlCopies, snapshot } = await snapshotAfterRequests(sdk, 'vault');
      expect(controlCopies).toBeGreaterThanOrEqual(1);
      expect(occurrences(snapshot, 'agent-vault-placeholder-')).toBeGreaterThanOrEqual(1);
      expect(keyCopies).toBe(0);
    });

    it(`${sdk}: baseline, the SDK's own client given apiKey keeps the key in memory`, async () => {
      const { keyCopies } = await snapshotAfterRequests(sdk, 'plain');
      expect(keyCopies).toBeGreaterThanOrEqual(1);
    });
  }
});
