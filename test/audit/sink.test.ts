// The file sink on its own: durability modes, concurrency in one process, the lock's recovery,
// a log replaced or removed under a writer, options.
import fs, { readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type AuditEvent, auditKeyring } from '../../src/audit/index.ts';
import { fileAuditSink } from '../../src/audit/file.ts';
import { endOfTurn, logPath, records, rootKey, sinkContext as context, sinkEvent as event } from './_fixture.ts';
import { tempDir } from '../_fixtures/index.ts';

const verifyContext = () => ({ ...context(), keys: auditKeyring(rootKey) });

afterEach(() => {
  vi.restoreAllMocks();
});

describe('fileAuditSink', () => {
  for (const durability of ['write', 'fsync', 'group'] as const) {
    it(`durability '${durability}': 200 concurrent appends from two sinks, contiguous and verified`, async () => {
      const dir = tempDir();
      const a = fileAuditSink({ dir, durability });
      const b = fileAuditSink({ dir, durability });
      expect(a.durability).toBe(durability);
      await Promise.all(Array.from({ length: 200 }, (_, i) => (i % 2 ? a : b).append(event(`s-${i}`), context())));
      const all = records(dir);
      expect(all.map((r) => r.seq)).toEqual(all.map((_, i) => i + 1));
      expect(new Set(all.map((r) => r.name)).size).toBe(200);
      expect(await a.verify(verifyContext())).toMatchObject({ ok: true, records: 200 });
      await a.close();
      await b.close();
    });
  }

  it('creates the log 0600 (and its directory 0700)', async () => {
    const dir = join(tempDir(), 'nested', 'vault');
    const sink = fileAuditSink({ dir });
    await sink.append(event('x'), context());
    expect(statSync(logPath(dir)).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(sink.path).toBe(logPath(dir));
    await sink.close();
  });

  it('takes its durability from AGENT_VAULT_AUDIT_DURABILITY and refuses unknown ones', () => {
    vi.stubEnv('AGENT_VAULT_AUDIT_DURABILITY', 'group');
    expect(fileAuditSink({ dir: tempDir() }).durability).toBe('group');
    vi.unstubAllEnvs();
    expect(fileAuditSink({ dir: tempDir() }).durability).toBe('write');
    expect(() => fileAuditSink({ dir: tempDir(), durability: 'sometimes' as 'write' })).toThrow(/one of write, fsync, group/);
    expect(() => fileAuditSink({} as { dir: string })).toThrow(/needs \{ dir \}/);
  });

  it('refuses events it cannot record faithfully', async () => {
    const sink = fileAuditSink({ dir: tempDir() });
    await expect(sink.append({ ...event('x'), action: 'secret.peek' as 'secret.set' }, context())).rejects.toThrow(/unknown action/);
    await expect(sink.append({ ...event('x'), generation: -1 }, context())).rejects.toThrow(/generation/);
    await sink.close();
  });

  it('refuses to append after close', async () => {
    const sink = fileAuditSink({ dir: tempDir() });
    await sink.close();
    await expect(sink.append(event('x'), context())).rejects.toMatchObject({ code: 'USAGE' });
  });

  it('records only the event fields it knows: nothing else an event object carries', async () => {
    const dir = tempDir();
    const sink = fileAuditSink({ dir });
    await sink.append({ ...event('x'), value: 'sk-should-not-appear', token: 'avt_nope' } as AuditEvent, context());
    expect(fs.readFileSync(logPath(dir), 'utf8')).not.toMatch(/sk-should|avt_/);
    await sink.close();
  });

  it('does not reread the file when nobody else wrote (the cached tail)', async () => {
    const dir = tempDir();
    const sink = fileAuditSink({ dir });
    await sink.append(event('first'), context());
    const readSync = vi.spyOn(fs, 'readSync');
    for (let i = 0; i < 20; i++) await sink.append(event(`n-${i}`), context());
    expect(readSync).not.toHaveBeenCalled();
    // Another writer appends: the next append reads back only the tail.
    const other = fileAuditSink({ dir });
    await other.append(event('other'), context());
    // `other` keeps the lock until this turn of the event loop ends (_append-lock.ts); the append
    // below would otherwise wait for it, reading the lock file's holder, which is not the tail.
    await endOfTurn();
    readSync.mockClear();
    await sink.append(event('after'), context());
    expect(readSync).toHaveBeenCalledTimes(1);
    expect(records(dir).map((r) => r.seq)).toEqual([...Array(23).keys()].map((i) => i + 1));
    await sink.close();
    await other.close();
  });

  it('records a log replaced or removed under it, and starts a new chain', async () => {
    const dir = tempDir();
    const sink = fileAuditSink({ dir });
    for (let i = 0; i < 3; i++) await sink.append(event(`n-${i}`), context());
    renameSync(logPath(dir), `${logPath(dir)}.old`);
    await sink.append(event('after-removal'), context());
    expect(records(dir).map((r) => [r.seq, r.action, r.reason ?? ''])).toEqual([
      [1, 'audit.recover', 'log-replaced'],
      [2, 'secret.set', ''],
    ]);
    expect(records(dir)[0]!.note).toContain('last saw record 3');
    expect(await sink.verify(verifyContext())).toMatchObject({ ok: true, records: 2 });
    await sink.close();
  });
});

describe('the audit lock', () => {
  const lockPath = (dir: string) => `${logPath(dir)}.lock`;

  it('is taken from a dead process at once', async () => {
    const dir = tempDir();
    writeFileSync(lockPath(dir), JSON.stringify({ pid: 2 ** 22 + 17, host: hostname(), at: Date.now() }));
    const sink = fileAuditSink({ dir, lockTimeoutMs: 5_000 });
    const start = Date.now();
    await sink.append(event('x'), context());
    expect(Date.now() - start).toBeLessThan(1_000);
    // The dead process's lock is gone: the lock now is this process's, kept until the turn ends.
    expect(JSON.parse(readFileSync(lockPath(dir), 'utf8'))).toMatchObject({ pid: process.pid, host: hostname() });
    await endOfTurn();
    expect(fs.existsSync(lockPath(dir))).toBe(false);
    await sink.close();
  });

  it('held by a live process elsewhere: waits, then fails closed naming the holder', async () => {
    const dir = tempDir();
    writeFileSync(lockPath(dir), JSON.stringify({ pid: 4242, host: 'another-host', at: Date.now() }));
    const sink = fileAuditSink({ dir, lockTimeoutMs: 150, staleLockMs: 60_000 });
    await expect(sink.append(event('x'), context())).rejects.toMatchObject({
      code: 'AUDIT',
      message: expect.stringMatching(/Timed out after 150 ms .*pid 4242 on another-host/),
    });
    await sink.close();
  });

  it('held by a process elsewhere longer than staleLockMs: abandoned', async () => {
    const dir = tempDir();
    writeFileSync(lockPath(dir), JSON.stringify({ pid: 4242, host: 'another-host', at: Date.now() }));
    const sink = fileAuditSink({ dir, lockTimeoutMs: 2_000, staleLockMs: 100 });
    await sink.append(event('x'), context());
    expect(records(dir)).toHaveLength(1);
    await sink.close();
  });

  it('falls back to O_EXCL where the file system has no hard links', async () => {
    const dir = tempDir();
    vi.spyOn(fs, 'linkSync').mockImplementation(() => {
      throw Object.assign(new Error('EPERM'), { code: 'EPERM' });
    });
    const [a, b] = [fileAuditSink({ dir }), fileAuditSink({ dir })];
    await Promise.all(Array.from({ length: 60 }, (_, i) => (i % 2 ? a : b).append(event(`s-${i}`), context())));
    expect(records(dir).map((r) => r.seq)).toEqual([...Array(60).keys()].map((i) => i + 1));
    expect(readdirSync(dir).filter((name) => name.includes('.w-'))).toEqual([]);
    await a.close();
    await b.close();
  });

  it('sweeps writer files left by killed processes', async () => {
    const dir = tempDir();
    const leftover = `${lockPath(dir)}.w-999999-deadbeef`;
    writeFileSync(leftover, JSON.stringify({ pid: 2 ** 22 + 19, host: hostname(), at: 0 }));
    const sink = fileAuditSink({ dir });
    await sink.append(event('x'), context());
    expect(fs.existsSync(leftover)).toBe(false);
    await sink.close();
    rmSync(dir, { recursive: true });
  });
});
