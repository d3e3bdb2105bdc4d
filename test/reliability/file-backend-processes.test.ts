import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileBackend } from '../../src/backends/file.ts';
import { tempDir } from '../_fixtures/index.ts';

// Real processes, not workers in this one: the lock and the atomic writes are only tested by
// separate pids racing on one directory. Children run the TypeScript worker with plain node,
// which strips the types itself (see _worker.ts).
const workerPath = join(import.meta.dirname, '_worker.ts');

function worker(...args: string[]): ChildProcess {
  return spawn(process.execPath, [workerPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Resolves when the child exits 0; rejects with its stderr otherwise. */
function finished(child: ChildProcess): Promise<void> {
  let stderr = '';
  child.stderr?.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.on('exit', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`worker exited with ${code ?? signal}: ${stderr}`));
    });
  });
}

function printed(child: ChildProcess, line: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    child.stdout?.on('data', (chunk) => {
      stdout += chunk;
      if (stdout.includes(line)) resolve();
    });
    child.on('exit', (code) => reject(new Error(`worker exited (${code}) before printing ${line}`)));
  });
}

const decodeCount = (value: Uint8Array | undefined) => Number(new TextDecoder().decode(value));

describe('file backend across processes', () => {
  it('loses none of 2 × 200 concurrent writes of different keys', async () => {
    const dir = tempDir();
    await Promise.all([finished(worker(dir, 'write', 'a', '200')), finished(worker(dir, 'write', 'b', '200'))]);
    const backend = fileBackend({ dir });
    expect(await backend.list('a/')).toHaveLength(200);
    expect(await backend.list('b/')).toHaveLength(200);
    for (const prefix of ['a', 'b']) {
      for (let i = 0; i < 200; i += 37) expect(decodeCount(await backend.get(`${prefix}/${i}`))).toBe(i);
    }
  }, 30_000);

  it('counts exactly 200 from 4 × 50 increments under withLock', async () => {
    const dir = tempDir();
    await Promise.all(Array.from({ length: 4 }, () => finished(worker(dir, 'increment', '50'))));
    expect(decodeCount(await fileBackend({ dir }).get('counter'))).toBe(200);
  }, 30_000);

  it('is not wedged by a lock holder killed with SIGKILL', async () => {
    const dir = tempDir();
    const holder = worker(dir, 'hold');
    const exited = new Promise((resolve) => holder.on('exit', resolve));
    await printed(holder, 'locked');
    // Writers queue behind the held lock, then must all get through once the holder dies.
    const waiting = Array.from({ length: 3 }, () => finished(worker(dir, 'increment', '5')));
    await new Promise((resolve) => setTimeout(resolve, 300));
    holder.kill('SIGKILL');
    await exited;
    const started = Date.now();
    const backend = fileBackend({ dir, lockTimeoutMs: 5_000 });
    await backend.withLock(async () => undefined);
    await Promise.all(waiting);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(decodeCount(await backend.get('counter'))).toBe(15);
  }, 30_000);

  it('leaves the old or the new value when a writer is killed mid-write', async () => {
    const dir = tempDir();
    for (let round = 0; round < 3; round++) {
      const writer = worker(dir, 'churn');
      const exited = new Promise((resolve) => writer.on('exit', resolve));
      await printed(writer, 'started');
      await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 80));
      writer.kill('SIGKILL');
      await exited;
      const value = await fileBackend({ dir }).get('k');
      expect(value).toHaveLength(256 * 1024);
      expect(new Set(value).size).toBe(1);
      expect(readdirSync(dir).filter((name) => name.startsWith('.tmp-'))).toEqual([]);
    }
  }, 30_000);
});
