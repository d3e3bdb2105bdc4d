// The file-system helpers both locks and the file backend share (src/_fs.ts): the one stale-lock
// policy and the errno advice. The locks' own tests (file.test.ts, audit/sink.test.ts) take
// real locks from dead and foreign holders; these pin the rule they both now call.
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { fsAdvice, HOST, lockAbandoned, pidAlive } from '../../src/_fs.ts';

function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '']);
  expect(child.status).toBe(0);
  return child.pid;
}

describe('the shared stale-lock policy', () => {
  const staleMs = 60_000;

  it('a live holder on this host keeps its lock until staleMs', () => {
    const me = { pid: process.pid, host: hostname() };
    expect(HOST).toBe(hostname());
    expect(lockAbandoned(me, staleMs - 1, staleMs)).toBe(false);
    expect(lockAbandoned(me, staleMs + 1, staleMs)).toBe(true);
  });

  it('a dead holder on this host loses its lock at once', () => {
    const pid = deadPid();
    expect(pidAlive(pid)).toBe(false);
    expect(lockAbandoned({ pid, host: hostname() }, 0, staleMs)).toBe(true);
  });

  it('a holder on another host is never judged by a local pid, only by age', () => {
    // A pid that is dead here says nothing about the process of that number on another host.
    const elsewhere = { pid: deadPid(), host: `${hostname()}-elsewhere` };
    expect(lockAbandoned(elsewhere, staleMs - 1, staleMs)).toBe(false);
    expect(lockAbandoned(elsewhere, staleMs + 1, staleMs)).toBe(true);
  });

  it('a lock file that names no holder is abandoned after a short grace, whatever staleMs is', () => {
    expect(lockAbandoned(undefined, 1_000, staleMs)).toBe(false);
    expect(lockAbandoned(undefined, 2_001, staleMs)).toBe(true);
  });

  it('pidAlive refuses pids that cannot name a process', () => {
    for (const pid of [0, -1, 1.5, Number.NaN]) expect(pidAlive(pid)).toBe(false);
    expect(pidAlive(process.pid)).toBe(true);
  });
});

describe('errno advice', () => {
  it("a caller's own advice wins; common codes read the same everywhere; unknown codes get a default", () => {
    const own = { EACCES: 'Fix the log.' };
    expect(fsAdvice('EACCES', own)).toBe('Fix the log.');
    expect(fsAdvice('ENOSPC', own)).toBe(fsAdvice('ENOSPC', {}));
    expect(fsAdvice('ENOSPC', own)).toMatch(/disk is full/);
    expect(fsAdvice('EWHATEVER', own)).toMatch(/Check the vault directory/);
  });
});
