/**
 * The heap measurement the heap tests share: an owner vault with the provider key and a control
 * secret, its records written to a file, a child process (only the client side) that opens the
 * agent's vault from them, makes its calls against a loopback stand-in, forces GCs and writes a
 * V8 heap snapshot; then the key's and the control's occurrences in that snapshot are counted.
 * heap.test.ts says what is and is not counted.
 */
import { execFile } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'vitest';
import { memoryBackend } from '../../src/backends/memory.ts';
import { fakeKey, type Received, startServer, tempDir, type TestServer, testVault } from '../_fixtures/index.ts';
import { type Handler, PROVIDER_SERVER } from './_servers.ts';

const run = promisify(execFile);

export function occurrences(haystack: string, needle: string): number {
  let count = 0;
  for (let at = haystack.indexOf(needle); at !== -1; at = haystack.indexOf(needle, at + needle.length)) count++;
  return count;
}

export interface HeapRun {
  /** The child script, run as `node --expose-gc … <child> ...args <baseURL> <records> <snapshot>`. */
  child: string;
  /** Arguments before the base URL (which SDK, which mode). */
  args: string[];
  /** The stand-in the child's SDK talks to (or a server of its own), and the base URL it is given on its origin. */
  handler: Handler | (() => Promise<Pick<TestServer, 'origin' | 'requests' | 'close'>>);
  baseURL(origin: string): string;
  /** The key as each request carried it (the test checks every request had it). */
  keyOf(request: Received): string | undefined;
}

/** Temp files for a file's heap runs, removed after it. */
export function heapDir(): string {
  return tempDir('agent-vault-heap-');
}

export async function snapshotAfterRequests(dir: string, options: HeapRun) {
  const key = fakeKey('sk-heap');
  const control = fakeKey('control');
  const backend = memoryBackend();
  const owner = await testVault({ backend });
  await owner.set('provider-api-key', key);
  await owner.set('control-secret', control);
  const { token } = await owner.createAgent('heap-agent', { allow: ['*'], ttl: '1h' });
  const records: Record<string, string> = {};
  for (const name of await backend.list('')) records[name] = Buffer.from((await backend.get(name))!).toString('base64');
  const label = options.args.join('-');
  const recordsPath = join(dir, `${label}-records.json`);
  const snapshotPath = join(dir, `${label}.heapsnapshot`);
  writeFileSync(recordsPath, JSON.stringify(records));

  const { handler } = options;
  const server = handler.length === 0 ? await (handler as () => Promise<TestServer>)() : await startServer(handler as Handler, PROVIDER_SERVER);
  try {
    const { stdout } = await run(
      process.execPath,
      ['--expose-gc', '--heap-snapshot-string-limit=1000000', options.child, ...options.args, options.baseURL(server.origin), recordsPath, snapshotPath],
      { env: { ...process.env, AGENT_VAULT_TOKEN: token }, timeout: 60_000 },
    );
    expect(stdout).toContain('snapshot written');
  } finally {
    await server.close();
  }
  expect(server.requests.length).toBeGreaterThanOrEqual(2);
  for (const request of server.requests) expect(options.keyOf(request)).toBe(key);
  const snapshot = readFileSync(snapshotPath, 'latin1');
  rmSync(snapshotPath);
  return { keyCopies: occurrences(snapshot, key), controlCopies: occurrences(snapshot, control), snapshot };
}
