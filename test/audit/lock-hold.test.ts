// The audit lock kept across a burst of appends (src/audit/_append-lock.ts): one link for a burst,
// given up when the turn of the event loop ends, at once while another process waits, at exit and
// when the holder dies; never reused once it is old enough that a waiter may have broken it.
import { type ChildProcess, spawn } from 'node:child_process';
import fs, { existsSync, lutimesSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { auditKeyring } from '../../src/audit/index.ts';
import { fileAuditSink } from '../../src/audit/file.ts';
import { bytesToHex } from '../../src/_bytes.ts';
import { AuditError } from '../../src/errors.ts';
import { endOfTurn, logPath, ownerKey, records, rootKey, sinkContext as context, sinkEvent as event, vaultId } from './_fixture.ts';
import { exited, printed, tempDir } from '../_fixtures/index.ts';

const lockPath = (dir: string) => `${logPath(dir)}.lock`;
const waitingPath = (dir: string) => `${lockPath(dir)}.waiting`;
const holder = (dir: string) => JSON.parse(readFileSync(lockPath(dir), 'utf8')) as { pid: number; host: string };
const child = fileURLToPath(new URL('./_lock-child.ts', import.meta.url));

afterEach(() => {
  vi.restoreAllMocks();
});

/** A sink with one record written and its lock given up again, so only the next appends are counted. */
async function warmSink(lockTimeoutMs = 5_000, dir = tempDir()) {
  const sink = fileAuditSink({ dir, lockTimeoutMs });
  await sink.append(event('first'), context());
  await endOfTurn();
  expect(existsSync(lockPath(dir))).toBe(false);
  return { dir, sink };
}

function spawnChild(dir: string, mode: string): ChildProcess {
  return spawn(process.execPath, [child, dir, mode, vaultId, bytesToHex(ownerKey)], { stdio: ['ignore', 'pipe', 'pipe'] });
}

describe('the audit lock kept across a burst', () => {
  it('takes the lock once for a burst in one turn, and gives it up when the turn ends', async () => {
    const { dir, sink } = await warmSink();
    // A frozen clock: the burst is never older than the hold's limit, however loaded the machine.
    vi.spyOn(performance, 'now').mockReturnValue(performance.now());
    const link = vi.spyOn(fs, 'linkSync');
    for (let i = 0; i < 50; i++) await sink.append(event(`n-${i}`), context());
    expect(link).toHaveBeenCalledTimes(1);
    expect(holder(dir)).toMatchObject({ pid: process.pid, host: hostname() });
    await endOfTurn();
    expect(existsSync(lockPath(dir))).toBe(false);
    expect(records(dir).map((r) => r.seq)).toEqual([...Array(51).keys()].map((i) => i + 1));
    await sink.close();
  });

  it('gives it up after each append while another process signals that it waits; ignores a stale signal', async () => {
    const { dir, sink } = await warmSink();
    vi.spyOn(performance, 'now').mockReturnValue(performance.now()); // no append outlasts the hold here
    writeFileSync(waitingPath(dir), '');
    // A burst of one does not look (the turn's end gives the lock up); its second append does.
    await sink.append(event('first-of-burst'), context());
    await sink.append(event('waited-for'), context());
    expect(existsSync(lockPath(dir))).toBe(false);
    // Once a waiter was seen, every append looks, the first of a burst too.
    await sink.append(event('still-waited-for'), context());
    expect(existsSync(lockPath(dir))).toBe(false);
    await sink.append(event('still-waited-for'), context());
    expect(existsSync(lockPath(dir))).toBe(false);
    // A waiter that died long ago left its signal: it is not waiting any more.
    const old = new Date(Date.now() - 60_000);
    lutimesSync(waitingPath(dir), old, old);
    await sink.append(event('stale-signal'), context());
    await sink.append(event('stale-signal'), context());
    expect(holder(dir).pid).toBe(process.pid);
    await endOfTurn();
    await sink.close();
  });

  it('is not reused once it is old enough to have been broken: a lock retaken meanwhile is waited for', async () => {
    const { dir, sink } = await warmSink(300);
    const clock = vi.spyOn(performance, 'now').mockReturnValue(1_000);
    await sink.append(event('kept'), context());
    expect(holder(dir).pid).toBe(process.pid);
    // As if this process stalled and a waiter broke the lock and took it: another live holder now.
    fs.unlinkSync(lockPath(dir));
    writeFileSync(lockPath(dir), JSON.stringify({ pid: process.ppid, host: hostname(), at: Date.now() }));
    clock.mockReturnValue(1_005);
    const short = fileAuditSink({ dir, lockTimeoutMs: 300 });
    // The same sink too: its kept lock is too old to trust, so it waits for the new holder and fails closed.
    await expect(sink.append(event('must-wait'), context())).rejects.toThrow(AuditError);
    await expect(short.append(event('must-wait-too'), context())).rejects.toThrow(/Timed out/);
    expect(records(dir).map((r) => r.name)).toEqual(['first', 'kept']);
    expect(holder(dir).pid).toBe(process.ppid);
    fs.unlinkSync(lockPath(dir));
    await sink.close();
    await short.close();
  }, 20_000);

  it('a process appending without ever yielding does not starve another process', async () => {
    const { dir, sink } = await warmSink();
    const other = spawnChild(dir, 'append-once');
    const done = exited(other);
    // This loop never lets the event loop turn: the lock is given up only because the other
    // process signals that it waits (or the hold's time limit). Its record must land meanwhile.
    let landed = false;
    const deadline = Date.now() + 60_000;
    for (let i = 0; !landed && Date.now() < deadline; i++) {
      await sink.append(event(`busy-${i}`), context());
      if (i % 50 === 0) landed = readFileSync(logPath(dir), 'utf8').includes('"from-child"');
    }
    expect(landed).toBe(true);
    expect(await done).toBe(0);
    expect(await sink.verify({ ...context(), keys: auditKeyring(rootKey) })).toMatchObject({ ok: true });
    await sink.close();
  }, 90_000);

  it('is given up when the process exits right after an append, and taken at once from a holder killed while holding it', async () => {
    const { dir, sink } = await warmSink();
    const exiting = spawnChild(dir, 'append-exit');
    const said = printed(exiting, 'held at exit');
    expect(await exited(exiting)).toBe(0);
    await said;
    expect(existsSync(lockPath(dir))).toBe(false);

    const holding = spawnChild(dir, 'append-hang');
    await printed(holding, 'holding');
    expect(holder(dir).pid).toBe(holding.pid);
    const gone = exited(holding);
    holding.kill('SIGKILL');
    await gone;
    await sink.append(event('after-kill'), context());
    expect(records(dir).map((r) => r.name)).toEqual(['first', 'from-child', 'from-child', 'after-kill']);
    await endOfTurn();
    await sink.close();
  }, 30_000);
});
