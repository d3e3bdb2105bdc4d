// The audit log across real processes: agents in separate pids, each opening the vault with its
// token through the default file backend and audit sink, appending at the same time; writers
// killed with SIGKILL mid-record.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Vault } from '../../src/index.ts';
import { CANARY, logPath, ownerVault, records } from '../audit/_fixture.ts';
import { collect, printed } from '../_fixtures/index.ts';

const worker = fileURLToPath(new URL('../audit/_worker.ts', import.meta.url));

function spawnWorker(dir: string, token: string, ...args: string[]): ChildProcess {
  return spawn(process.execPath, [worker, dir, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, AGENT_VAULT_TOKEN: token, AGENT_VAULT_TOKEN_FILE: '' },
  });
}

function finished(child: ChildProcess): Promise<void> {
  let stderr = '';
  child.stderr?.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.on('exit', (code, signal) => (code === 0 ? resolve() : reject(new Error(`worker exited ${code ?? signal}: ${stderr}`))));
  });
}

async function kill(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.on('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

async function agents(owner: Vault, count: number): Promise<string[]> {
  const tokens: string[] = [];
  for (let i = 0; i < count; i++) tokens.push((await owner.createAgent(`worker-${i}`, { allow: ['openai-*'] })).token);
  return tokens;
}

describe('audit log across processes', () => {
  it('4 processes × 500 resolutions: exactly 2,000 resolution records, contiguous, chain intact', async () => {
    const { dir, owner } = await ownerVault();
    const tokens = await agents(owner, 4);
    const children = tokens.map((token) => spawnWorker(dir, token, 'resolve', 'openai-api-key', '500'));
    const done = children.map(finished);
    await Promise.all(children.map((child) => printed(child, 'ready')));
    for (const child of children) child.stdin!.write('go\n');
    await Promise.all(done);

    const report = await owner.verifyAudit();
    expect(report.problem).toBeUndefined();
    // 1 vault.create, 1 secret.set, 4 agent.create, 4 warm-up resolutions, then the 2,000.
    expect(report).toMatchObject({ ok: true, records: 6 + 4 + 2_000 });
    const all = records(dir);
    expect(all.map((r) => r.seq)).toEqual(all.map((_, i) => i + 1));
    const resolutions = await collect(owner.readAudit({ action: 'secret.resolve' }));
    expect(resolutions).toHaveLength(4 + 2_000);
    expect(resolutions.every((r) => r.outcome === 'ok' && r.name === 'openai-api-key' && r.version === 1)).toBe(true);
    for (let i = 0; i < 4; i++) {
      expect(resolutions.filter((r) => r.actor === `agent:worker-${i}`)).toHaveLength(1 + 500);
    }
    // The appends really raced: the writer changes from one record to the next many times. Four
    // writers one after another would change 3 times; how many more depends on how the machine
    // schedules the four processes (hundreds when quiet, 36 seen at load ~10), so the bound only
    // proves they interleaved, with no timing margin to fail under load.
    const switches = all.filter((r, i) => i > 0 && r.actor !== all[i - 1]!.actor).length;
    expect(switches).toBeGreaterThan(12);
    expect(readFileSync(logPath(dir), 'utf8')).not.toContain(CANARY);
    // Each process removed its lock's writer file on exit; no lock is left behind.
    const leftovers = readdirSync(dir).filter((name) => name.startsWith('audit.jsonl.') && !name.includes(`.w-${process.pid}-`));
    expect(leftovers).toEqual([]);
    await owner.close();
  }, 60_000);

  it('a writer killed with SIGKILL mid-record: the next writer trims the torn tail, records it, chain verifies', async () => {
    const { dir, owner } = await ownerVault();
    const [torn, next] = await agents(owner, 2);
    const child = spawnWorker(dir, torn!, 'torn', 'openai-api-key');
    await printed(child, 'torn');
    await kill(child);
    const text = readFileSync(logPath(dir), 'utf8');
    expect(text.endsWith('\n')).toBe(false);
    // The killed writer still holds the audit lock; its pid is dead, so the next writer breaks it.
    expect(existsSync(`${logPath(dir)}.lock`)).toBe(true);

    const second = spawnWorker(dir, next!, 'resolve', 'openai-api-key', '2');
    const secondDone = finished(second);
    await printed(second, 'ready');
    second.stdin!.write('go\n');
    await secondDone;
    const all = records(dir);
    expect(all.map((r) => r.seq)).toEqual(all.map((_, i) => i + 1));
    expect(all.slice(-4).map((r) => [r.actor, r.action, r.reason ?? ''])).toEqual([
      ['agent:worker-1', 'audit.recover', 'torn-tail'],
      ['agent:worker-1', 'secret.resolve', ''],
      ['agent:worker-1', 'secret.resolve', ''],
      ['agent:worker-1', 'secret.resolve', ''],
    ]);
    const report = await owner.verifyAudit();
    expect(report).toMatchObject({ ok: true, records: all.length });
    expect(report.recoveries.map((r) => r.reason)).toEqual(['torn-tail']);
    // The killed writer's half record is gone: its one complete resolution stays.
    expect(all.filter((r) => r.actor === 'agent:worker-0' && r.action === 'secret.resolve')).toHaveLength(1);
    await owner.close();
  }, 30_000);

  it('a torn tail nobody wrote after is trimmed by verifyAudit', async () => {
    const { dir, owner } = await ownerVault();
    const [torn] = await agents(owner, 1);
    const child = spawnWorker(dir, torn!, 'torn', 'openai-api-key');
    await printed(child, 'torn');
    await kill(child);
    const report = await owner.verifyAudit();
    expect(report).toMatchObject({ ok: true, torn: { trimmed: true } });
    expect(report.recoveries).toHaveLength(1);
    expect(report.recoveries[0]).toMatchObject({ actor: 'owner', reason: 'torn-tail' });
    expect(readFileSync(logPath(dir), 'utf8').endsWith('\n')).toBe(true);
    await owner.close();
  }, 30_000);

  it('writers killed with SIGKILL at random moments, 6 rounds: the chain verifies after each', async () => {
    const { dir, owner } = await ownerVault();
    const tokens = await agents(owner, 2);
    for (let round = 0; round < 6; round++) {
      const children = tokens.map((token) => spawnWorker(dir, token, 'loop', 'openai-api-key'));
      await Promise.all(children.map((child) => printed(child, 'running')));
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 40));
      await Promise.all(children.map(kill));
      const report = await owner.verifyAudit();
      expect(report.problem).toBeUndefined();
      expect(report.ok).toBe(true);
    }
    const all = records(dir);
    expect(all.map((r) => r.seq)).toEqual(all.map((_, i) => i + 1));
    expect(all.filter((r) => r.action === 'secret.resolve').length).toBeGreaterThan(12);
    await owner.close();
  }, 60_000);
});
