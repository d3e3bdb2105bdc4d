// The vault lock is fair between processes (src/backends/_file-lock.ts): a holder that comes back
// for its next operation lets a waiting process go first. Two backend objects on one directory
// share nothing but the lock file, so they race on it as two processes do (the process tests in
// test/reliability do it with real pids); counting turns, not milliseconds, keeps this exact.
import { execFileSync } from 'node:child_process';
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileBackend } from '../../src/backends/file.ts';
import { type FileLock, fileLock } from '../../src/backends/_file-lock.ts';
import { tempDir } from '../_fixtures/index.ts';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `hog` takes the lock `turns` times back to back, holding it `holdMs` each time; returns how many of them went by while `other` waited. */
async function turnsWhileWaiting(dir: string, turns: number, holdMs: number): Promise<{ passed: number; hogTurns: number }> {
  const hog = fileBackend({ dir, lockTimeoutMs: 20_000 });
  const other = fileBackend({ dir, lockTimeoutMs: 20_000 });
  let hogTurns = 0;
  let firstTurn!: () => void;
  const started = new Promise<void>((resolve) => (firstTurn = resolve));
  const hogging = (async () => {
    for (let i = 0; i < turns; i++) {
      await hog.withLock(async () => {
        hogTurns++;
        firstTurn();
        await pause(holdMs);
      });
    }
  })();
  await started; // the hog holds the lock now: the other has to wait for it
  const before = hogTurns;
  const passed = await other.withLock(async () => hogTurns - before);
  await hogging;
  return { passed, hogTurns };
}

describe('the vault lock between processes', () => {
  it('lets a waiter in after one turn (100 ms) instead of the holder re-taking it for ever', async () => {
    // Holds of 60 ms: the hog may re-take the lock twice within its turn, then must let go.
    // Before the waiting signal, the waiter missed 6 to all 39 of the hog's turns.
    const { passed, hogTurns } = await turnsWhileWaiting(tempDir(), 40, 60);
    expect(hogTurns).toBe(40);
    expect(passed).toBeLessThanOrEqual(3);
  });

  it('with no turn, two busy writers alternate: neither runs far ahead', async () => {
    const path = join(tempDir(), '.lock');
    const [a, b] = [0, 1].map(() => fileLock({ path, timeoutMs: 20_000, staleMs: 60_000, turnMs: 0 }));
    const order: string[] = [];
    const writer = (lock: FileLock, name: string) => (async () => {
      for (let i = 0; i < 30; i++) await lock.withLock(async () => {
        order.push(name);
        await pause(2);
      });
    })();
    await Promise.all([writer(a!, 'a'), writer(b!, 'b')]);
    const longestRun = Math.max(...(order.join('').match(/a+|b+/g) ?? []).map((run) => run.length));
    expect(order).toHaveLength(60);
    // Before the waiting signal, one writer ran 12 to 30 times in a row.
    expect(longestRun).toBeLessThanOrEqual(3);
  });
});

describe('a planted waiting signal', () => {
  it('kept fresh by an attacker only delays the owner (about a second), never keeps it out', async () => {
    const dir = tempDir('av-hostile-waiting-');
    const backend = fileBackend({ dir, lockTimeoutMs: 10_000 });
    await backend.set('k', new Uint8Array([1]));
    const signal = join(dir, '.lock.waiting');
    writeFileSync(signal, '');
    const touching = setInterval(() => {
      const now = new Date();
      utimesSync(signal, now, now);
    }, 5);
    try {
      // Past the first turn every take defers to the "waiter", which never comes: each is bounded.
      for (let i = 0; i < 4; i++) expect(await backend.withLock(() => pause(60).then(() => 'ran'))).toBe('ran');
    } finally {
      clearInterval(touching);
    }
  });

  it('a FIFO, a directory or one dated 2099 at its path neither hangs a waiter nor keeps it out', async () => {
    for (const plant of [
      (path: string) => execFileSync('mkfifo', [path]),
      (path: string) => mkdirSync(path),
      (path: string) => {
        writeFileSync(path, '');
        utimesSync(path, new Date('2099-01-01'), new Date('2099-01-01'));
      },
    ]) {
      const dir = tempDir('av-hostile-waiting-');
      await fileBackend({ dir }).set('k', new Uint8Array([1]));
      plant(join(dir, '.lock.waiting'));
      // Make someone wait (and so signal through what is planted), then take turns.
      const { passed, hogTurns } = await turnsWhileWaiting(dir, 5, 5);
      expect(hogTurns).toBe(5);
      expect(passed).toBeLessThanOrEqual(5);
    }
  });
});
