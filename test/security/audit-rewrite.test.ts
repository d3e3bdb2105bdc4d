/**
 * Issue 13, attack 5: an agent holding its token and write access to the vault directory
 * rewrites the audit log. It can make records in its own name (it holds its own audit key), so
 * every attack here forges lines exactly as such an agent can: sealRecord under the agent's key.
 *
 * - A log replaced by a fresh one from genesis (the owner's records gone) fails: a log must start
 *   with an owner record, which no agent can make; and an agent cannot start a log at all.
 * - A malformed line in the middle is reported, and the records after it are still verified.
 * - Cutting or rewriting the newest records fails against an anchor (the owner's signed state
 *   keeps the head at each owner operation; here the anchor is passed as the CLI's --anchor
 *   does). Without an anchor, records after the last one can still be rewritten by their own
 *   writer: the README says so, and a test below shows exactly that limit.
 * - Control characters an agent writes into its own records never reach the owner's terminal.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { genesisHash, lineHash, sealRecord } from '../../src/audit/_chain.ts';
import { AUDIT_KEY_LABEL, type AuditEvent } from '../../src/audit/index.ts';
import { derive } from '../../src/crypto.ts';
import { createVault, openVault } from '../../src/index.ts';
import { parseToken } from '../../src/token.ts';
import { tempDir } from '../_fixtures/index.ts';
import { runCli } from '../cli/_cli.ts';

const VALUE = 'sk-audit-rewrite-0123456789abcdef';

async function auditedVault() {
  const dir = join(tempDir('av-audit-rewrite-'), 'vault');
  const keyFile = join(dir, '..', 'owner.key');
  const owner = await createVault({ dir, keyFile });
  await owner.set('openai-api-key', VALUE);
  const { token } = await owner.createAgent('bot', { allow: ['openai-*'] });
  const agent = await openVault({ dir, token });
  for (let i = 0; i < 3; i++) await agent.get('openai-api-key');
  const log = join(dir, 'audit.jsonl');
  const lines = () => readFileSync(log, 'utf8').split('\n').filter(Boolean);
  return { dir, keyFile, log, owner, agent, token, lines, vaultId: owner.id };
}

/** What the agent can write: a record in its own name, chained after `previous` (or genesis). */
function agentLine(token: string, vaultId: string, seq: number, previous: string | undefined, event: Partial<AuditEvent>, at = Date.now()): string {
  const macKey = derive(parseToken(token).agentKey, AUDIT_KEY_LABEL);
  const prev = previous === undefined ? genesisHash(vaultId) : lineHash(Buffer.from(previous));
  const full: AuditEvent = { actor: 'agent:bot', generation: 1, action: 'secret.resolve', name: 'openai-api-key', outcome: 'ok', ...event };
  return Buffer.from(sealRecord(full, seq, at, vaultId, prev, macKey).bytes).toString('utf8');
}

describe('a log replaced from genesis', () => {
  it('by a fresh log of the agent\'s own records (the owner\'s gone) fails as replaced', async () => {
    const { log, owner, token, vaultId } = await auditedVault();
    const first = agentLine(token, vaultId, 1, undefined, { outcome: 'denied', reason: 'expired' }, Date.parse('2020-01-01'));
    const second = agentLine(token, vaultId, 2, first, { outcome: 'denied', reason: 'expired' }, Date.parse('2020-01-02'));
    writeFileSync(log, `${first}\n${second}\n`);
    const report = await owner.verifyAudit();
    expect(report.ok).toBe(false);
    expect(report.problem).toMatchObject({ kind: 'replaced', seq: 1, line: 1 });
    expect(report.problem!.message).toMatch(/every log starts with an owner record/);
    // The fake chain itself is consistent (said once); the signed state's anchor (the head at the
    // owner's last operation) is missing from it, which is the second problem.
    expect(report.problems!.map((p) => p.kind)).toEqual(['replaced', 'truncated']);
  });

  it('an agent cannot start a log: with the log deleted, its reads fail closed until the owner opens the vault', async () => {
    const { dir, keyFile, log, agent, owner } = await auditedVault();
    rmSync(log);
    await expect(agent.get('openai-api-key')).rejects.toMatchObject({ code: 'AUDIT', message: expect.stringMatching(/only the owner starts a log/) });
    await owner.close();
    const again = await openVault({ dir, keyFile }); // writes vault.open: the owner's record starts the new log
    expect(await agent.get('openai-api-key')).toBe(VALUE);
    // The new log verifies as a chain, but the head the signed state anchored is gone: reported,
    // so a log an agent deleted never passes once the owner has opened the vault again.
    expect(await again.verifyAudit()).toMatchObject({ ok: false, problem: { kind: 'truncated' } });
  });
});

describe('a malformed line in the middle', () => {
  it('is reported, and verification goes on past it: later records (and later appends) still verify', async () => {
    const { log, owner, agent, lines } = await auditedVault();
    const all = lines();
    all[3] = all[3]!.replace('"secret.resolve"', '"secret.resolvd"');
    writeFileSync(log, `${all.join('\n')}\n`);
    for (let i = 0; i < 3; i++) await agent.get('openai-api-key'); // appends go on
    const report = await owner.verifyAudit();
    expect(report).toMatchObject({ ok: false, records: 3, problem: { kind: 'modified', seq: 4, line: 4 } });
    expect(report.problems, JSON.stringify(report.problems)).toHaveLength(1);
    // A second bad line further on is reported on its own.
    const more = lines();
    more[more.length - 2] = '{"not":"a record"}';
    writeFileSync(log, `${more.join('\n')}\n`);
    const twice = await owner.verifyAudit();
    expect(twice.problems.map((p) => [p.kind, p.line])).toEqual([['modified', 4], ['modified', more.length - 1]]);
  });
});

describe('the newest records cut or rewritten', () => {
  it('cut: the log no longer reaches the anchor', async () => {
    const { log, owner, agent, lines } = await auditedVault();
    const { last } = await owner.verifyAudit();
    await agent.get('openai-api-key');
    const anchor = (await owner.verifyAudit()).last;
    writeFileSync(log, `${lines().slice(0, last.seq).join('\n')}\n`);
    expect(await owner.verifyAudit({ anchor })).toMatchObject({ ok: false, problem: { kind: 'truncated' } });
  });

  it("the sink's head is the anchor verify reports: what the owner's signed state keeps", async () => {
    const { dir, owner, vaultId } = await auditedVault();
    const { fileAuditSink } = await import('../../src/audit/file.ts');
    const sink = fileAuditSink({ dir });
    expect(await sink.head(vaultId)).toEqual((await owner.verifyAudit()).last);
    await sink.close();
  });

  it('rewritten: three reads become one "denied" dated 2020; caught by the anchor, and only by it', async () => {
    const { log, owner, token, vaultId, lines } = await auditedVault();
    const anchor = (await owner.verifyAudit()).last;
    const kept = lines().slice(0, -3); // the three reads go
    const seqOf = (line: string) => (JSON.parse(line) as { seq: number }).seq;
    const forged = agentLine(token, vaultId, seqOf(kept.at(-1)!) + 1, kept.at(-1), { outcome: 'denied', reason: 'not-granted' }, Date.parse('2020-06-01'));
    writeFileSync(log, `${[...kept, forged].join('\n')}\n`);
    // The documented limit: without an anchor, the writer's own newest records can be rewritten.
    expect((await owner.verifyAudit()).ok).toBe(true);
    const report = await owner.verifyAudit({ anchor });
    expect(report.ok).toBe(false);
    expect(report.problem!.kind).toBe('truncated');
  });
});

describe('control characters in audit fields', () => {
  it('are shown escaped by `agent-vault audit`, `audit --json` and `audit verify`, never raw', async () => {
    const { dir, keyFile, log, token, vaultId, lines, owner } = await auditedVault();
    await owner.close();
    const hostileName = 'openai\u001b]0;owned\u0007\u001b[2K\u009b31m\u202e-key';
    const all = lines();
    const line = agentLine(token, vaultId, all.length + 1, all.at(-1), { name: hostileName, reason: 'x\u001b[1Ay', note: '\r\u0085done' });
    // A record the verifier rejects (bad MAC) but whose text still gets printed in the problem.
    const badActor = line.replace('"agent:bot"', '"agent:bot\\u001b[31m"');
    writeFileSync(log, `${[...all, line, badActor].join('\n')}\n`);
    const options = { cwd: dir, env: { AGENT_VAULT_DIR: dir } };
    const results = [
      await runCli(['audit', '--key-file', keyFile], options),
      await runCli(['audit', '--json', '--key-file', keyFile], options),
      await runCli(['audit', 'verify', '--key-file', keyFile], options),
      await runCli(['audit', 'verify', '--json', '--key-file', keyFile], options),
    ];
    for (const { stdout, stderr } of results) {
      // biome-ignore lint: these are the characters that must not appear.
      expect(`${stdout}${stderr}`).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202e]/);
    }
    expect(results[0]!.stdout).toContain('openai\\u001b]0;owned\\u0007');
    const parsed = JSON.parse(results[1]!.stdout) as { name?: string }[];
    expect(parsed.some((record) => record.name === hostileName)).toBe(true); // the data is exact, only escaped
    expect(results[2]!.code).toBe(1);
  });
});
