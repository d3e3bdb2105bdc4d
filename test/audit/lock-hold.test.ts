// The audit lock kept while a process keeps appending (src/audit/_append-lock.ts): one link for a
// run of records, across turns of the event loop; a lone append gives it up when its turn ends;
// given up once idle, at once while another process waits (busy or idle), at exit and when the
// holder dies; never reused once it is old enough that a waiter may have broken it.
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
async function warmSink(lockTimeoutMs = 5_000, staleLockMs?: number) {
  const dir = tempDir();
  const sink = fileAuditSink({ dir, lockTimeoutMs, staleLockMs });
  await sink.append(event('first'), context());
  await endOfTurn();
  expect(existsSync(lockPath(dir))).toBe(false);
  return { dir, sink };
}

function spawnChild(dir: string, mode: string): ChildProcess {
  return spawn(process.execPath, [child, dir, mode, vaultId, bytesToHex(ownerKey)], { stdio: ['pipe', 'pipe', 'pipe'] });
}

/** Resolves once `condition` holds, looking every millisecond: asserts progress, never a speed. */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 1));
}

describe('the audit lock kept while a process keeps appending', () => {
  it('takes the lock once for appends that follow each other, across turns, and gives it up once idle', async () => {
    const { dir, sink } = await warmSink();
    // A clock the test moves: 0.5 ms between appends, however loaded the machine.
    let now = performance.now() + 1_000;
    vi.spyOn(performance, 'now').mockImplementation(() => now);
    const link = vi.spyOn(fs, 'linkSync');
    for (let i = 0; i < 30; i++) {
      await sink.append(event(`n-${i}`), context());
      await endOfTurn();
      now += 0.5;
    }
    // The first append was lone (given up when its turn ended); the lock taken for the second is
    // kept for the other 28, the last 14.5 ms after it was taken (younger than HOLD_MAX_MS).
    expect(link).toHaveBeenCalledTimes(2);
    expect(holder(dir)).toMatchObject({ pid: process.pid, host: hostname() });
    now += 10; // idle: the next tick of the idle timer gives it up
    await until(() => !existsSync(lockPath(dir)));
    expect(records(dir).map((r) => r.seq)).toEqual([...Array(31).keys()].map((i) => i + 1));
    await sink.close();
  });

  it('a lone append gives it up when its turn ends; a burst in one turn takes it once', async () => {
    const { dir, sink } = await warmSink();
    let now = performance.now() + 1_000;
    vi.spyOn(performance, 'now').mockImplementation(() => now);
    const link = vi.spyOn(fs, 'linkSync');
    await sink.append(event('lone'), context());
    expect(holder(dir).pid).toBe(process.pid);
    await endOfTurn();
    expect(existsSync(lockPath(dir))).toBe(false);
    now += 1_000;
    for (let i = 0; i < 20; i++) await sink.append(event(`burst-${i}`), context());
    expect(link).toHaveBeenCalledTimes(2);
    now += 10;
    await until(() => !existsSync(lockPath(dir)));
    await sink.close();
  });

  it('a kept lock, idle, is given up as soon as another process signals that it waits', async () => {
    // staleLockMs: the wall clock's limit on reuse (half of it) far beyond the test.
    const { dir, sink } = await warmSink(5_000, 600_000);
    // A frozen clock: never idle, never old; only the waiter's signal can make it go.
    vi.spyOn(performance, 'now').mockReturnValue(performance.now() + 1_000);
    await sink.append(event('a'), context());
    await sink.append(event('b'), context());
    await endOfTurn();
    await new Promise((resolve) => setTimeout(resolve, 5)); // several ticks of the idle timer
    expect(holder(dir).pid).toBe(process.pid);
    writeFileSync(waitingPath(dir), '');
    await until(() => !existsSync(lockPath(dir)));
    await sink.close();
  });

  it('gives it up after each append while another process signals that it waits; ignores a stale signal', async () => {
    const { dir, sink } = await warmSink();
    // A frozen clock, well after the warm-up's append: no append outlasts the hold here.
    vi.spyOn(performance, 'now').mockReturnValue(performance.now() + 1_000);
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

  it.each([
    ['by the monotonic clock (a stalled process)', 25, 0],
    ['by the wall clock (stepped ahead, as a waiter judges it)', 0, 6_000],
    ['by the wall clock (stepped back)', 0, -1_000],
  ])('is not reused once it is old enough to have been broken, %s: a lock retaken meanwhile is waited for', async (_, monotonicMs, wallMs) => {
    const { dir, sink } = await warmSink(300);
    const clock = vi.spyOn(performance, 'now').mockReturnValue(1_000);
    await sink.append(event('kept'), context());
    await sink.append(event('kept'), context()); // follows the first: kept across turns
    await endOfTurn();
    expect(holder(dir).pid).toBe(process.pid);
    // As if this process stalled and a waiter broke the lock and took it: another live holder now.
    fs.unlinkSync(lockPath(dir));
    writeFileSync(lockPath(dir), JSON.stringify({ pid: process.ppid, host: hostname(), at: Date.now() }));
    clock.mockReturnValue(1_000 + monotonicMs);
    const realNow = Date.now.bind(Date);
    vi.spyOn(Date, 'now').mockImplementation(() => realNow() + wallMs);
    const short = fileAuditSink({ dir, lockTimeoutMs: 300 });
    // The same sink too: its kept lock is too old to trust, so it waits for the new holder and fails closed.
    await expect(sink.append(event('must-wait'), context())).rejects.toThrow(AuditError);
    await expect(short.append(event('must-wait-too'), context())).rejects.toThrow(/Timed out/);
    expect(records(dir).map((r) => r.name)).toEqual(['first', 'kept', 'kept']);
    expect(holder(dir).pid).toBe(process.ppid);
    fs.unlinkSync(lockPath(dir));
    await sink.close();
    await short.close();
  }, 20_000);

  it('another process gets the lock from one that keeps it, appending with pauses, without waiting for it to stop', async () => {
    // Without the signal this would time out (and never judge the child's lock stale).
    const { dir, sink } = await warmSink(30_000, 600_000);
    const other = spawnChild(dir, 'append-paced');
    const done = exited(other);
    let output = '';
    other.stdout!.on('data', (chunk) => (output += chunk));
    await printed(other, 'kept');
    // Its clock is frozen: it never finds itself idle nor its lock old, and keeps the lock through
    // its pauses (no link for its last ten records) for as long as it runs. Only the signal of a
    // waiter (this process) can make it give the lock up, and these appends must all get it.
    expect(output).toContain('kept: 0 locks taken for the 10 records after the first');
    expect(holder(dir).pid).toBe(other.pid);
    for (let i = 0; i < 5; i++) await sink.append(event(`waiter-${i}`), context());
    other.stdin!.end('stop\n');
    expect(await done).toBe(0);
    const all = records(dir);
    expect(all.map((r) => r.seq)).toEqual(all.map((_, i) => i + 1));
    expect(all.filter((r) => r.name?.startsWith('waiter-'))).toHaveLength(5);
    expect(await sink.verify({ ...context(), keys: auditKeyring(rootKey) })).toMatchObject({ ok: true });
    await sink.close();
  }, 90_000);

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
