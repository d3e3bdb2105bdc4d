/**
 * Hostile audit files: a log holding `__proto__` keys, deep
 * nesting, a 100 MB line, or something that is not a file at all. Every reader and writer of the
 * log (an agent's append, the owner's verifyAudit and readAudit) refuses or reports it, in bounded
 * time and memory, and `({}).polluted` stays undefined.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, closeSync, constants, openSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lineHash } from '../../src/audit/_chain.ts';
import { blocksBackward, candidates, linesForward } from '../../src/audit/_lines.ts';
import { linesBackward } from '../audit/_lines.ts';
import { AUDIT_KEY_LABEL, type AuditRecord } from '../../src/audit/index.ts';
import { derive, mac } from '../../src/crypto.ts';
import { createVault, openVault, type Vault } from '../../src/index.ts';
import { parseToken } from '../../src/token.ts';
import { collect, FAST_KDF, tempDir } from '../_fixtures/index.ts';

const MB = 1024 * 1024;

async function vaultWithLog() {
  const dir = tempDir('av-hostile-audit-');
  const owner = await createVault({ dir, passphrase: 'pw', passphraseParams: FAST_KDF });
  await owner.set('openai-api-key', 'sk-hostile-audit-0123456789');
  const { token } = await owner.createAgent('bot', { allow: ['openai-*'] });
  const agent = await openVault({ dir, token });
  await agent.get('openai-api-key');
  const log = join(dir, 'audit.jsonl');
  return { dir, log, owner, agent, token, lines: () => readFileSync(log, 'utf8').split('\n').filter(Boolean) };
}

/**
 * A line the agent could really write (valid chain and MAC under its own audit key) but with
 * `extra` spliced in after the action: what a hostile agent process can put in the log.
 */
function forgedLine(token: string, previous: string, fields: { seq: number; vault: string }, extra: string): string {
  const key = derive(parseToken(token).agentKey, AUDIT_KEY_LABEL);
  const head = `{"seq":${fields.seq},"time":"${new Date().toISOString()}","vault":"${fields.vault}","actor":"agent:bot",` +
    `"generation":1,"action":"secret.resolve",${extra}"name":"openai-api-key","outcome":"ok",` +
    `"prev":"${lineHash(Buffer.from(previous))}"`;
  return `${head},"mac":"${Buffer.from(mac(key, Buffer.from(head), 32)).toString('hex')}"}`;
}

/** Run `fn` (given up on after `limitMs`), sampling the process's memory: its outcome, time and peak growth. */
async function measured<T>(
  fn: () => Promise<T>,
  limitMs = 20_000,
): Promise<{ outcome: T | Error | 'timed out'; ms: number; cpuMs: number; growthMB: number }> {
  const base = process.memoryUsage.rss();
  // CPU time as well as wall time: on a busy machine the wall clock measures the neighbours too.
  const cpuBefore = process.cpuUsage();
  let peak = base;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 5);
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    const outcome = await Promise.race([
      fn().catch((error: Error) => error),
      new Promise<'timed out'>((resolve) => (timer = setTimeout(() => resolve('timed out'), limitMs))),
    ]);
    const cpu = process.cpuUsage(cpuBefore);
    return {
      outcome,
      ms: performance.now() - started,
      cpuMs: (cpu.user + cpu.system) / 1000,
      growthMB: (Math.max(peak, process.memoryUsage.rss()) - base) / MB,
    };
  } finally {
    clearInterval(sampler);
    clearTimeout(timer);
  }
}

/** Append `megabytes` MB of junk to the file, 1 MB at a time (the test itself holds no 100 MB buffer). */
function appendJunk(path: string, megabytes: number, newline = true): void {
  const fd = openSync(path, 'a');
  const chunk = Buffer.alloc(MB, 0x41);
  for (let i = 0; i < megabytes; i++) writeSync(fd, chunk);
  if (newline) writeSync(fd, '\n');
  closeSync(fd);
}

/** Every reader and writer of the log; each must end within `limitMs`. */
async function everyReader(owner: Vault, agent: Vault, limitMs = 5_000) {
  const results = {
    append: await measured(() => agent.get('openai-api-key'), limitMs),
    verify: await measured(() => owner.verifyAudit({ repair: false }), limitMs),
    read: await measured(() => collect(owner.readAudit()), limitMs),
    readFiltered: await measured(() => collect(owner.readAudit({ name: 'openai-api-key', limit: 5 })), limitMs),
  };
  for (const [what, { outcome }] of Object.entries(results)) expect(outcome, what).not.toBe('timed out');
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  return results;
}

describe('hostile audit files', () => {
  it('a record with a valid MAC and chain but a __proto__ key: reported at its seq, pollutes nothing, appends refuse', async () => {
    const { log, owner, agent, token, lines } = await vaultWithLog();
    const last = lines().at(-1)!;
    const { seq, vault } = JSON.parse(last) as AuditRecord;
    appendFileSync(log, `${forgedLine(token, last, { seq: seq + 1, vault }, '"__proto__":{"polluted":"yes"},')}\n`);
    const results = await everyReader(owner, agent);
    expect(results.verify.outcome).toMatchObject({ ok: false, problem: { kind: 'modified', seq: seq + 1 } });
    expect(results.append.outcome).toMatchObject({ code: 'AUDIT' });
    for (const record of results.read.outcome as AuditRecord[]) {
      expect(Object.getPrototypeOf(record)).toBe(Object.prototype);
      expect((record as unknown as Record<string, unknown>).polluted).toBeUndefined();
    }
  });

  it('the same line with a correct shape is accepted (the control: the forger above is real)', async () => {
    const { log, owner, token, lines } = await vaultWithLog();
    const last = lines().at(-1)!;
    const { seq, vault } = JSON.parse(last) as AuditRecord;
    appendFileSync(log, `${forgedLine(token, last, { seq: seq + 1, vault }, '')}\n`);
    expect(await owner.verifyAudit()).toMatchObject({ ok: true, records: seq + 1 });
  });

  it('deep nesting, inside and beyond the line limit', async () => {
    for (const depth of [3_000, 100_000]) {
      const { log, owner, agent, token, lines } = await vaultWithLog();
      const last = lines().at(-1)!;
      const { seq, vault } = JSON.parse(last) as AuditRecord;
      appendFileSync(log, `${forgedLine(token, last, { seq: seq + 1, vault }, `"x":${'['.repeat(depth)}${']'.repeat(depth)},`)}\n`);
      const results = await everyReader(owner, agent);
      expect(results.verify.outcome, `depth ${depth}`).toMatchObject({ ok: false, problem: { kind: 'modified', seq: seq + 1 } });
      expect(results.append.outcome).toMatchObject({ code: 'AUDIT' });
    }
  });

  it('a 100 MB line: an append refuses it at once (at the end, unterminated) or chains past it (in the middle)', async () => {
    for (const where of ['end', 'tail', 'middle'] as const) {
      const { log, agent, lines } = await vaultWithLog();
      const first = lines()[0]!;
      appendJunk(log, 100, where !== 'tail');
      if (where === 'middle') appendFileSync(log, `${first}\n`); // a valid-looking record after it
      const append = await measured(() => agent.get('openai-api-key'));
      expect(append.ms, where).toBeLessThan(1_000);
      expect(append.growthMB, where).toBeLessThan(32);
      // At the end it cannot be chained onto; in the middle the last record is one (verify reports the break).
      if (where === 'middle') expect(append.outcome).toBe('sk-hostile-audit-0123456789');
      else expect(append.outcome, where).toMatchObject({ code: 'AUDIT', message: expect.stringMatching(/damaged/) });
      rmSync(log);
    }
  });

  it('a 100 MB line: verifyAudit reports where the log breaks, and readAudit reads around it', async () => {
    const { log, owner, lines } = await vaultWithLog();
    const before = lines().length;
    appendJunk(log, 100);
    const verify = await measured(() => owner.verifyAudit({ repair: false }));
    expect(verify.outcome).toMatchObject({ ok: false, records: before, problem: { kind: 'modified', seq: before + 1 } });
    const read = await measured(() => collect(owner.readAudit()));
    expect(read.outcome).toHaveLength(before);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  }, 60_000);

  it('an unterminated line longer than any record at the end: verifyAudit reports it rather than trimming it as torn', async () => {
    const { log, owner, lines } = await vaultWithLog();
    const before = lines().length;
    appendJunk(log, 1, false);
    const size = statSync(log).size;
    expect(await owner.verifyAudit()).toMatchObject({ ok: false, records: before, problem: { kind: 'modified', seq: before + 1 }, torn: undefined });
    expect(statSync(log).size).toBe(size);
    expect(await collect(owner.readAudit())).toHaveLength(before);
  });

  it('the line readers skip exactly the lines over the limit, wherever the chunk boundaries fall', async () => {
    const max = 8;
    const lines = ['a'.repeat(max), 'b'.repeat(max + 1), '', 'c', 'd'.repeat(3 * max), 'e'.repeat(max - 1), 'f'.repeat(max + 2)];
    const kept = lines.filter((line) => line.length > 0 && line.length <= max).reverse();
    for (const tail of ['', 'torn', 't'.repeat(max + 1)]) {
      const path = join(tempDir('av-long-lines-'), 'lines');
      writeFileSync(path, `${lines.join('\n')}\n${tail}`);
      // Forwards, a long line comes as its length; an unterminated end too long to be torn, as well.
      let offset = 0;
      const expected = lines.map((line) => `${line.length > max ? line.length : line}@${(offset += line.length + 1)}`);
      if (tail.length > max) expected.push(`${tail.length}@${offset + tail.length}`);
      const handle = await open(path, 'r');
      const { size } = await handle.stat();
      for (let chunk = 1; chunk <= 3 * max + 2; chunk++) {
        const forward: string[] = [];
        for await (const batch of linesForward(handle, 0, size, chunk, max)) {
          for (const { line, next, overlong } of batch) forward.push(`${overlong ?? line.toString()}@${next}`);
        }
        expect(forward, `forward, chunk ${chunk}`).toEqual(expected);
        const backward: string[] = [];
        for await (const batch of linesBackward(handle, size, chunk, max)) backward.push(...batch.map(String));
        expect(backward, `backward, chunk ${chunk}`).toEqual(kept);
        const found: string[] = [];
        for await (const block of blocksBackward(handle, size, chunk, max)) found.push(...candidates(block, [], max));
        expect(found, `candidates, chunk ${chunk}`).toEqual(kept);
      }
      await handle.close();
    }
  });

  // linesForward and blocksBackward (src/audit/_lines.ts) once concatenated the carried partial
  // line with every new 1 MiB chunk: a 100 MB line cost verifyAudit and readAudit ~4 s and
  // ~200-300 MB each, and 1 GB many minutes. A line longer than MAX_LINE_BYTES is now skipped as
  // it streams past, never kept.
  it('one long line costs verifyAudit and readAudit time linear in its length, and no memory to speak of', async () => {
    const costs: Record<string, { cpuMs: number; growthMB: number }>[] = [];
    for (const megabytes of [16, 64]) {
      const { log, owner, agent, lines } = await vaultWithLog();
      const before = lines().length;
      appendJunk(log, megabytes);
      await agent.close();
      const cost: Record<string, { cpuMs: number; growthMB: number }> = {};
      const calls = {
        verify: async () => expect(await owner.verifyAudit({ repair: false }))
          .toMatchObject({ ok: false, records: before, problem: { kind: 'modified', seq: before + 1 } }),
        read: async () => expect(await collect(owner.readAudit())).toHaveLength(before),
      };
      // The cheapest of three, in CPU time: noise must not pass for a quadratic cost.
      for (const [what, call] of Object.entries(calls)) {
        for (let run = 0; run < 3; run++) {
          const { outcome, cpuMs, growthMB } = await measured(call);
          if (outcome instanceof Error) throw outcome;
          cost[what] = {
            cpuMs: Math.min(cpuMs, cost[what]?.cpuMs ?? cpuMs),
            growthMB: Math.max(growthMB, cost[what]?.growthMB ?? 0),
          };
        }
      }
      costs.push(cost);
      rmSync(log);
    }
    const [small, large] = costs as [typeof costs[0], typeof costs[0]];
    const bounded = (what: string) => ({
      linear: large[what]!.cpuMs / small[what]!.cpuMs < 8, // 4x the bytes, 4x the time (quadratic: 16x)
      memory: large[what]!.growthMB < 32,
    });
    expect({ verify: bounded('verify'), read: bounded('read') }, JSON.stringify(costs)).toEqual({
      verify: { linear: true, memory: true },
      read: { linear: true, memory: true },
    });
  }, 60_000);

  it('a symlink to /dev/zero in place of the log: refused at once by every reader and writer', async () => {
    const { log, owner, agent } = await vaultWithLog();
    rmSync(log);
    symlinkSync('/dev/zero', log);
    const results = await everyReader(owner, agent, 2_000);
    expect(results.append.outcome).toMatchObject({ code: 'AUDIT', message: expect.stringMatching(/ENOTFILE/) });
    expect(results.verify.outcome).toMatchObject({ code: 'AUDIT' });
  });

  it('a FIFO in place of the log: appends refuse at once', async () => {
    const { log, agent } = await vaultWithLog();
    rmSync(log);
    execFileSync('mkfifo', [log]);
    const append = await measured(() => agent.get('openai-api-key'), 1_000);
    expect(append.outcome).toMatchObject({ code: 'AUDIT', message: expect.stringMatching(/ENOTFILE/) });
  });

  // A plain open of a FIFO blocks until a writer comes: verifyAudit/readAudit (and `agent-vault
  // audit`) once hung forever on one, each holding one of libuv's four threads. They now stat
  // first, open with O_NONBLOCK, and refuse what is not a regular file.
  it('a FIFO in place of the log: verifyAudit and readAudit refuse at once, saying what is there', async () => {
    const { log, owner } = await vaultWithLog();
    rmSync(log);
    execFileSync('mkfifo', [log]);
    try {
      for (const read of [(): Promise<unknown> => owner.verifyAudit(), (): Promise<unknown> => collect(owner.readAudit())]) {
        expect((await measured(read, 500)).outcome).toMatchObject({
          code: 'AUDIT', message: expect.stringMatching(/ENOTFILE.*a FIFO \(named pipe\), not a regular file/),
        });
      }
    } finally {
      // Let the blocked opens return (a writer arrives and leaves), so no thread stays stuck.
      for (let i = 0; i < 2; i++) {
        try {
          closeSync(openSync(log, constants.O_WRONLY | constants.O_NONBLOCK));
        } catch {
          // nobody was blocked on it
        }
      }
    }
  });
});
