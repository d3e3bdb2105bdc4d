// readAudit: newest first, streamed backwards in chunks, filtered; the chunked line readers agree
// with a plain split at every chunk size.
import { open, writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../src/audit/index.ts';
import { fileAuditSink } from '../../src/audit/file.ts';
import { linesForward } from '../../src/audit/_lines.ts';
import { linesBackward } from './_lines.ts';
import { derive, initCrypto, randomBytes } from '../../src/crypto.ts';
import { agentVault, logPath, ownerVault } from './_fixture.ts';
import { collect, tempDir } from '../_fixtures/index.ts';

await initCrypto();

describe('readAudit through the vault', () => {
  it('filters by agent, name, action, time and limit, newest first', async () => {
    let clock = Date.parse('2026-03-01T10:00:00.000Z');
    const now = () => clock;
    const { dir, owner } = await ownerVault(tempDir(), { now });
    await owner.set('db-url', 'postgres://x');
    const { token: a } = await owner.createAgent('alpha', { allow: ['openai-*'] });
    const { token: b } = await owner.createAgent('beta', { allow: ['*'] });
    const alpha = await agentVault(dir, a, { now });
    const beta = await agentVault(dir, b, { now });
    for (let minute = 1; minute <= 30; minute++) {
      clock = Date.parse('2026-03-01T10:00:00.000Z') + minute * 60_000;
      await (minute % 2 ? alpha : beta).get(minute % 3 ? 'openai-api-key' : 'db-url').catch(() => undefined);
    }
    const all = await collect(owner.readAudit());
    expect(all.map((r) => r.seq)).toEqual([...Array(35).keys()].map((i) => 35 - i));

    const byAlpha = await collect(owner.readAudit({ agent: 'alpha' }));
    expect(byAlpha).toHaveLength(15);
    expect(byAlpha.every((r) => r.actor === 'agent:alpha')).toBe(true);
    const denied = byAlpha.filter((r) => r.outcome === 'denied');
    expect(denied.map((r) => r.name)).toEqual(Array(denied.length).fill('db-url'));
    expect(denied.every((r) => r.reason === 'not-granted')).toBe(true);

    expect(await collect(owner.readAudit({ name: 'db-url', action: 'secret.set' }))).toMatchObject([
      { seq: 3, actor: 'owner', action: 'secret.set', name: 'db-url', version: 1 },
    ]);
    expect((await collect(owner.readAudit({ action: ['agent.create', 'vault.create'] }))).map((r) => r.seq)).toEqual([5, 4, 1]);
    expect((await collect(owner.readAudit({ actor: 'owner' }))).map((r) => r.action)).toEqual([
      'agent.create', 'agent.create', 'secret.set', 'secret.set', 'vault.create',
    ]);

    const window = await collect(owner.readAudit({ since: '2026-03-01T10:10:00.000Z', until: new Date('2026-03-01T10:14:00.000Z') }));
    expect(window.map((r) => r.time)).toEqual([14, 13, 12, 11, 10].map((m) => `2026-03-01T10:${m}:00.000Z`));
    expect(await collect(owner.readAudit({ since: Date.parse('2026-03-01T10:28:00.000Z'), limit: 2 }))).toHaveLength(2);
    expect(await collect(owner.readAudit({ limit: 0 }))).toEqual([]);
    expect(await collect(owner.readAudit({ name: 'no-such-name' }))).toEqual([]);
    await alpha.close();
    await beta.close();
    await owner.close();
  });

  it('refuses bad filters', async () => {
    const { owner } = await ownerVault();
    expect(() => owner.readAudit({ limit: -1 })).not.toThrow(); // validated when iterated
    await expect(collect(owner.readAudit({ limit: -1 }))).rejects.toMatchObject({ code: 'USAGE' });
    await expect(collect(owner.readAudit({ since: 'yesterday-ish' }))).rejects.toMatchObject({ code: 'USAGE' });
    await expect(collect(owner.readAudit({ action: 'secret.peek' as 'secret.set' }))).rejects.toMatchObject({ code: 'USAGE' });
    await owner.close();
  });

  it('skips a last line still being written, and reads past damage (verifyAudit reports it)', async () => {
    const { dir, owner } = await ownerVault();
    const { appendFileSync, readFileSync, writeFileSync } = await import('node:fs');
    const lines = readFileSync(logPath(dir), 'utf8').split('\n');
    writeFileSync(logPath(dir), `${lines[0]}\nnot json\n${lines[1]}\n{"seq":3,"ti`);
    expect((await collect(owner.readAudit())).map((r) => r.seq)).toEqual([2, 1]);
    appendFileSync(logPath(dir), 'me":"x"}\n');
    await owner.close();
  });
});

describe('a long log', () => {
  it('20,000 records across many read chunks: newest first, every one, early stop with since', async () => {
    const dir = tempDir();
    const sink = fileAuditSink({ dir });
    const vaultId = 'ab'.repeat(16);
    const macKey = derive(randomBytes(32), 'agent-vault/audit/v1');
    const start = Date.parse('2026-01-01T00:00:00.000Z');
    // Only the owner starts a log.
    const event = (i: number): AuditEvent => i === 1 ? { actor: 'owner', generation: 0, action: 'vault.create', outcome: 'ok' } : {
      actor: `agent:bot-${i % 3}`, generation: 1, action: 'secret.resolve', name: `secret-${i % 50}`, version: 1, outcome: 'ok',
    };
    for (let i = 1; i <= 20_000; i++) await sink.append(event(i), { vaultId, macKey, now: start + i * 1000 });
    const all = await collect(sink.read());
    expect(all).toHaveLength(20_000);
    expect(all.every((r, i) => r.seq === 20_000 - i)).toBe(true);
    const recent = await collect(sink.read({ since: start + 19_901 * 1000 }));
    expect(recent.map((r) => r.seq)).toEqual([...Array(100).keys()].map((i) => 20_000 - i));
    const some = await collect(sink.read({ agent: 'bot-1', name: 'secret-7' }));
    expect(some.length).toBe(all.filter((r) => r.actor === 'agent:bot-1' && r.name === 'secret-7').length);
    expect(some.length).toBeGreaterThan(100);
    await sink.close();
  }, 30_000);
});

describe('chunked line readers', () => {
  it('agree with a plain split at every chunk size, torn tail or not', async () => {
    const dir = tempDir();
    const path = `${dir}/lines`;
    const lines = Array.from({ length: 40 }, (_, i) => 'x'.repeat((i * 7) % 23) + `line-${i}`);
    for (const tail of ['', 'partial-no-newline']) {
      await writeFile(path, `${lines.join('\n')}\n${tail}`);
      const handle = await open(path, 'r');
      const { size } = await handle.stat();
      for (const chunk of [1, 2, 3, 7, 16, 64, 1000, 1 << 20]) {
        const forward: string[] = [];
        let end = 0;
        for await (const batch of linesForward(handle, 0, size, chunk)) {
          for (const { line, next } of batch) {
            forward.push(line.toString());
            end = next;
          }
        }
        expect(forward, `forward, chunk ${chunk}`).toEqual(lines);
        expect(size - end).toBe(tail.length);
        const backward: string[] = [];
        for await (const batch of linesBackward(handle, size, chunk)) backward.push(...batch.map(String));
        expect(backward, `backward, chunk ${chunk}`).toEqual([...lines].reverse());
      }
      await handle.close();
    }
  });

  it('handle an empty file and a file with no complete line', async () => {
    const dir = tempDir();
    for (const content of ['', 'no newline at all']) {
      await writeFile(`${dir}/f`, content);
      const handle = await open(`${dir}/f`, 'r');
      const { size } = await handle.stat();
      const got: unknown[] = [];
      for await (const batch of linesBackward(handle, size, 4)) got.push(...batch);
      for await (const batch of linesForward(handle, 0, size, 4)) got.push(...batch);
      expect(got).toEqual([]);
      await handle.close();
    }
  });
});
