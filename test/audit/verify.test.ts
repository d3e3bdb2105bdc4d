// verifyAudit: every single-record tampering is found at the right sequence number; forgeries by
// an agent (which holds only its own audit key) are named; removal of the newest records is
// invisible without an anchor and caught with one.
import { appendFileSync, readFileSync, rmSync, truncateSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/audit/index.ts';
import { lineHash } from '../../src/audit/_chain.ts';
import { join } from 'node:path';
import { createVault, openVault, type Vault } from '../../src/index.ts';
import {
  agentAuditKey, agentVault, CANARY, forgeLine, logPath, ownerVault, readLines, records, writeLines,
} from './_fixture.ts';
import { collect, FAST_KDF } from '../_fixtures/index.ts';

let dir: string;
let owner: Vault;
let alphaToken: string;
let alpha: Vault;
let pristine: string[];

/*
 * The log the tests tamper with:
 *  1 owner vault.create      5 owner agent.create beta    9 beta  resolve db-url ok
 *  2 owner secret.set openai 6 alpha resolve openai ok    10 owner secret.set openai v2
 *  3 owner secret.set db-url 7 alpha resolve db-url denied 11 alpha resolve openai ok
 *  4 owner agent.create alpha 8 beta resolve openai ok    12 owner agent.revoke beta
 *                                                         13 beta  resolve openai denied (revoked)
 */
beforeAll(async () => {
  ({ dir, owner } = await ownerVault());
  await owner.set('db-url', 'postgres://canary');
  alphaToken = (await owner.createAgent('alpha', { allow: ['openai-*'] })).token;
  const betaToken = (await owner.createAgent('beta', { allow: ['*'] })).token;
  alpha = await agentVault(dir, alphaToken);
  const beta = await agentVault(dir, betaToken);
  expect(await alpha.get('openai-api-key')).toBe(CANARY);
  await expect(alpha.get('db-url')).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
  await beta.get('openai-api-key');
  await beta.get('db-url');
  await owner.set('openai-api-key', `${CANARY}-2`);
  await alpha.get('openai-api-key');
  await owner.revokeAgent('beta');
  await expect(beta.get('openai-api-key')).rejects.toMatchObject({ reason: 'revoked' });
  await beta.close();
  pristine = readLines(dir);
});

/** Verify `lines` as the log; restore the pristine log afterwards. */
async function verifyWith(lines: string[], options = {}) {
  writeLines(dir, lines);
  try {
    return await owner.verifyAudit(options);
  } finally {
    writeLines(dir, pristine);
  }
}

const parse = (line: string) => JSON.parse(line) as AuditRecord;
const edit = (line: string, from: string, to: string) => {
  expect(line).toContain(from);
  return line.replace(from, to);
};

describe('the pristine log', () => {
  it('holds what happened, in order, and verifies', async () => {
    // Names are sealed in the file (audit/_names.ts) and opened by the owner's readAudit.
    expect(records(dir).every((r) => r.name === undefined || r.name.startsWith('~'))).toBe(true);
    const read = (await collect(owner.readAudit())).reverse();
    expect(read.map((r) => [r.seq, r.actor, r.action, r.name ?? '', r.outcome, r.reason ?? ''])).toEqual([
      [1, 'owner', 'vault.create', '', 'ok', ''],
      [2, 'owner', 'secret.set', 'openai-api-key', 'ok', ''],
      [3, 'owner', 'secret.set', 'db-url', 'ok', ''],
      [4, 'owner', 'agent.create', 'alpha', 'ok', ''],
      [5, 'owner', 'agent.create', 'beta', 'ok', ''],
      [6, 'agent:alpha', 'secret.resolve', 'openai-api-key', 'ok', ''],
      [7, 'agent:alpha', 'secret.resolve', 'db-url', 'denied', 'not-granted'],
      [8, 'agent:beta', 'secret.resolve', 'openai-api-key', 'ok', ''],
      [9, 'agent:beta', 'secret.resolve', 'db-url', 'ok', ''],
      [10, 'owner', 'secret.set', 'openai-api-key', 'ok', ''],
      [11, 'agent:alpha', 'secret.resolve', 'openai-api-key', 'ok', ''],
      [12, 'owner', 'agent.revoke', 'beta', 'ok', ''],
      [13, 'agent:beta', 'secret.resolve', 'openai-api-key', 'denied', 'revoked'],
    ]);
    const report = await owner.verifyAudit();
    expect(report).toMatchObject({ ok: true, records: 13, last: { seq: 13, hash: lineHash(Buffer.from(pristine[12]!)) } });
    expect(report.problem).toBeUndefined();
  });

  it('never holds a secret value or a token', () => {
    const text = readFileSync(logPath(dir), 'utf8');
    expect(text).not.toContain('canary');
    expect(text).not.toContain(alphaToken);
    expect(text).not.toContain('avt_');
  });

  it('carries each record\'s generation and version', () => {
    const all = records(dir);
    expect(all[5]).toMatchObject({ generation: 1, version: 1 });
    expect(all[10]).toMatchObject({ generation: 1, version: 2 });
    expect(all[0]!.generation).toBe(0);
  });
});

describe('single-record tampering is found at the right seq', () => {
  it('an edited record (a denial turned into ok)', async () => {
    const lines = [...pristine];
    lines[6] = edit(lines[6]!, '"outcome":"denied","reason":"not-granted"', '"outcome":"ok"');
    expect((await verifyWith(lines)).problem).toMatchObject({ kind: 'modified', seq: 7, line: 7 });
  });

  it('an edited record that no longer parses, and a garbage line', async () => {
    const lines = [...pristine];
    lines[3] = lines[3]!.slice(0, 40);
    expect((await verifyWith(lines)).problem).toMatchObject({ kind: 'modified', seq: 4 });
    expect((await verifyWith([...pristine.slice(0, 5), 'hello', ...pristine.slice(5)])).problem)
      .toMatchObject({ kind: 'modified', seq: 6, line: 6 });
  });

  it('a deleted record', async () => {
    const lines = pristine.filter((_, i) => i !== 4);
    const report = await verifyWith(lines);
    expect(report).toMatchObject({ ok: false, records: 4 });
    expect(report.problem).toMatchObject({ kind: 'deleted', seq: 5, line: 5 });
  });

  it('a duplicated record', async () => {
    const lines = [...pristine.slice(0, 7), pristine[6]!, ...pristine.slice(7)];
    expect((await verifyWith(lines)).problem).toMatchObject({ kind: 'duplicated', seq: 8, line: 8 });
  });

  it('two swapped records', async () => {
    const lines = [...pristine];
    [lines[7], lines[8]] = [lines[8]!, lines[7]!];
    expect((await verifyWith(lines)).problem).toMatchObject({ kind: 'reordered', seq: 8 });
  });

  it('a record moved to the end', async () => {
    const lines = [...pristine.filter((_, i) => i !== 2), pristine[2]!];
    expect((await verifyWith(lines)).problem).toMatchObject({ seq: 3 });
  });

  it('a record of another vault spliced in', async () => {
    const other = await ownerVault();
    const foreign = readLines(other.dir)[1]!;
    await other.owner.close();
    const lines = [...pristine];
    lines[1] = foreign;
    expect((await verifyWith(lines)).problem).toMatchObject({ kind: 'wrong-vault', seq: 2 });
  });

  it('a record with a random MAC (forged without any writer\'s key)', async () => {
    const lines = [...pristine];
    lines[9] = lines[9]!.replace(/"mac":"[0-9a-f]{64}"/, `"mac":"${'ab'.repeat(32)}"`);
    expect((await verifyWith(lines)).problem).toMatchObject({ kind: 'modified', seq: 10 });
  });
});

describe('an agent cannot forge another writer\'s records', () => {
  const vault = () => parse(pristine[0]!).vault;

  it('replacing an owner record with one MACed under its own key is named a forgery', async () => {
    const key = agentAuditKey(alphaToken);
    const original = parse(pristine[9]!); // owner secret.set openai v2
    const lines = [...pristine];
    lines[9] = forgeLine(key, {
      seq: 10, prev: original.prev, vault: vault(), time: original.time,
      actor: 'owner', action: 'secret.delete', name: 'openai-api-key', outcome: 'ok',
    });
    const problem = (await verifyWith(lines)).problem;
    expect(problem).toMatchObject({ kind: 'forged', seq: 10 });
    expect(problem!.message).toContain('agent:alpha');
  });

  it('nor another agent\'s record', async () => {
    const key = agentAuditKey(alphaToken);
    const original = parse(pristine[8]!); // beta resolve db-url
    const lines = [...pristine];
    lines[8] = forgeLine(key, {
      seq: 9, prev: original.prev, vault: vault(), time: original.time,
      actor: 'agent:beta', generation: 1, action: 'secret.resolve', name: 'db-url', outcome: 'denied', reason: 'not-granted',
    });
    expect((await verifyWith(lines)).problem).toMatchObject({ kind: 'forged', seq: 9 });
  });

  it('nor append one in the owner\'s name at the end', async () => {
    const key = agentAuditKey(alphaToken);
    const lines = [...pristine, forgeLine(key, {
      seq: 14, prev: lineHash(Buffer.from(pristine[12]!)), vault: vault(),
      actor: 'owner', action: 'agent.create', name: 'alpha', outcome: 'ok',
    })];
    expect((await verifyWith(lines)).problem).toMatchObject({ kind: 'forged', seq: 14 });
  });

  it('and rewriting even its own record breaks the chain at that record', async () => {
    const key = agentAuditKey(alphaToken);
    const original = parse(pristine[6]!); // alpha's denial
    const lines = [...pristine];
    lines[6] = forgeLine(key, {
      seq: 7, prev: original.prev, vault: vault(), time: original.time,
      actor: 'agent:alpha', generation: 1, action: 'secret.resolve', name: 'db-url', version: 1, outcome: 'ok',
    });
    expect((await verifyWith(lines)).problem).toMatchObject({ kind: 'inserted', seq: 7 });
  });

  it('an extra record of its own inserted mid-log is found', async () => {
    const key = agentAuditKey(alphaToken);
    const lines = [...pristine];
    lines.splice(7, 0, forgeLine(key, {
      seq: 8, prev: lineHash(Buffer.from(pristine[6]!)), vault: vault(),
      actor: 'agent:alpha', generation: 1, action: 'secret.resolve', name: 'openai-api-key', outcome: 'ok',
    }));
    expect((await verifyWith(lines)).problem).toMatchObject({ kind: 'inserted', seq: 8 });
  });

});

describe('removal of the newest records', () => {
  it('is invisible to the chain alone, and caught by an anchor', async () => {
    const anchor = (await owner.verifyAudit()).last;
    expect(anchor.seq).toBe(13);
    const cut = await verifyWith(pristine.slice(0, 11));
    expect(cut).toMatchObject({ ok: true, records: 11 });
    const anchored = await verifyWith(pristine.slice(0, 11), { anchor });
    expect(anchored).toMatchObject({ ok: false, records: 11, problem: { kind: 'truncated', seq: 12 } });
    expect((await owner.verifyAudit({ anchor })).ok).toBe(true);
  });

  it('an anchor also catches a log cut and written again', async () => {
    const anchor = { seq: 11, hash: lineHash(Buffer.from(pristine[10]!)) };
    const key = agentAuditKey(alphaToken);
    const regrown = [...pristine.slice(0, 10), forgeLine(key, {
      seq: 11, prev: lineHash(Buffer.from(pristine[9]!)), vault: parse(pristine[0]!).vault,
      actor: 'agent:alpha', generation: 1, action: 'secret.resolve', name: 'openai-api-key', outcome: 'ok',
    })];
    // A valid record in its own name, but not the record 11 the vault's signed state anchored
    // (the owner's revocation recorded the head then): caught without any anchor passed in.
    expect((await verifyWith(regrown)).problem).toMatchObject({ kind: 'truncated', seq: 11 });
    expect((await verifyWith(regrown, { anchor })).problem).toMatchObject({ kind: 'truncated', seq: 11 });
  });

  it('a writer that sees the log shrink under it records that', async () => {
    try {
      // Alpha last wrote record 11; cut the log back to record 10.
      truncateSync(logPath(dir), Buffer.byteLength(pristine.slice(0, 10).join('\n')) + 1);
      await alpha.get('openai-api-key');
      const after = records(dir);
      expect(after.map((r) => r.seq)).toEqual([...Array(12).keys()].map((i) => i + 1));
      expect(after[10]).toMatchObject({ actor: 'agent:alpha', action: 'audit.recover', reason: 'log-shrank' });
      expect(after[10]!.note).toContain('last saw record 11');
      // The cut reached below the head the signed state anchored (record 11), so it is reported.
      const report = await owner.verifyAudit();
      expect(report.problem).toMatchObject({ kind: 'truncated', seq: 11 });
    } finally {
      writeLines(dir, pristine);
    }
  });
});

describe('torn last line', () => {
  it('is trimmed by verifyAudit, recorded, and told apart from tampering', async () => {
    const { dir: own, owner: o } = await ownerVault();
    const before = readLines(own);
    appendFileSync(logPath(own), before[1]!.slice(0, 57));
    const report = await o.verifyAudit();
    expect(report).toMatchObject({ ok: true, records: 3, torn: { bytes: 57, trimmed: true } });
    expect(report.recoveries).toHaveLength(1);
    expect(report.recoveries[0]).toMatchObject({ seq: 3, actor: 'owner', action: 'audit.recover', reason: 'torn-tail' });
    expect(report.recoveries[0]!.note).toContain('57 bytes');
    expect(readFileSync(logPath(own), 'utf8').endsWith('\n')).toBe(true);
    expect((await o.verifyAudit()).torn).toBeUndefined();
    await o.close();
  });

  it('is only reported with { repair: false }', async () => {
    const { dir: own, owner: o } = await ownerVault();
    appendFileSync(logPath(own), '{"seq":3,"ti');
    const size = readFileSync(logPath(own)).length;
    expect(await o.verifyAudit({ repair: false })).toMatchObject({ ok: true, records: 2, torn: { bytes: 12, trimmed: false } });
    expect(readFileSync(logPath(own)).length).toBe(size);
    await o.close();
  });

  it('is trimmed and recorded by the next writer', async () => {
    const { dir: own, owner: o } = await ownerVault();
    const { token } = await o.createAgent('bot', { allow: ['*'] });
    appendFileSync(logPath(own), '\u0000'.repeat(40)); // what a power loss can leave
    const bot = await agentVault(own, token);
    expect(await bot.get('openai-api-key')).toBe(CANARY);
    expect(records(own).slice(-2).map((r) => [r.seq, r.actor, r.action, r.reason ?? ''])).toEqual([
      [4, 'agent:bot', 'audit.recover', 'torn-tail'],
      [5, 'agent:bot', 'secret.resolve', ''],
    ]);
    expect(await o.verifyAudit()).toMatchObject({ ok: true, records: 5 });
    await bot.close();
    await o.close();
  });

  it('a torn line in the middle (followed by records) is tampering', async () => {
    const lines = [...pristine];
    lines[4] = lines[4]!.slice(0, 100);
    expect((await verifyWith(lines)).problem).toMatchObject({ kind: 'modified', seq: 5 });
  });
});

describe('verifyAudit', () => {
  it('is for the owner only', async () => {
    await expect(alpha.verifyAudit()).rejects.toMatchObject({ code: 'ACCESS_DENIED', reason: 'owner-only' });
    expect(() => alpha.readAudit()).toThrow(expect.objectContaining({ code: 'ACCESS_DENIED' }));
  });

  it('reports an empty log as verified, and a vault that declined auditing as a usage error', async () => {
    const { dir: own, owner: o } = await ownerVault();
    // A log deleted after owner operations is caught by the head the signed state anchored ...
    rmSync(logPath(own));
    expect(await o.verifyAudit()).toMatchObject({ ok: false, problem: { kind: 'truncated' } });
    await o.close();
    // ... and a vault whose log was never written to verifies as empty.
    const fresh = await createVault({ dir: join(own, 'fresh'), passphrase: 'x', passphraseParams: FAST_KDF, audit: false });
    await fresh.close();
    const reopened = await openVault({ dir: join(own, 'fresh'), passphrase: 'x' });
    rmSync(logPath(join(own, 'fresh')), { force: true });
    expect(await reopened.verifyAudit()).toMatchObject({ ok: true, records: 0, last: { seq: 0 } });
    await reopened.close();
    const { memoryBackend } = await import('../../src/backends/memory.ts');
    const bare = await createVault({ backend: memoryBackend(), audit: false, passphrase: 'x', passphraseParams: FAST_KDF });
    await expect(bare.verifyAudit()).rejects.toMatchObject({ code: 'USAGE' });
  });
});
