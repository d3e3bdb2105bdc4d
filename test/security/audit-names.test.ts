/**
 * Issue 13, attack 9 (the audit half): `audit.jsonl` beside the vault held every secret name and
 * agent id in plaintext. Names are now sealed to the owner (src/audit/_names.ts): the file holds
 * none, another agent cannot open one, and the owner's readAudit (and its name filter) reads
 * them back. The actor field still names the agent (verification needs it): the README says so.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openName } from '../../src/audit/_names.ts';
import { AUDIT_KEY_LABEL, type AuditRecord } from '../../src/audit/index.ts';
import { derive } from '../../src/crypto.ts';
import { createVault, openVault } from '../../src/index.ts';
import { parseToken } from '../../src/token.ts';
import { collect, FAST_KDF, tempDir } from '../_fixtures/index.ts';

describe('names in the audit log', () => {
  it('are sealed in the file, opened for the owner, and not for another agent', async () => {
    const dir = tempDir('av-audit-names-');
    const owner = await createVault({ dir, passphrase: 'pw', passphraseParams: FAST_KDF });
    await owner.set('openai-api-key', 'sk-names-0123456789');
    await owner.set('stripe-live-key', 'sk-names-9876543210');
    const alpha = await owner.createAgent('alpha', { allow: ['openai-*'] });
    const beta = await owner.createAgent('beta', { allow: ['stripe-*'] });
    await (await openVault({ dir, token: alpha.token })).get('openai-api-key');
    await (await openVault({ dir, token: beta.token })).get('stripe-live-key');

    const text = readFileSync(join(dir, 'audit.jsonl'), 'utf8');
    for (const name of ['openai-api-key', 'stripe-live-key', '"name":"alpha"', '"name":"beta"']) expect(text).not.toContain(name);
    // Records by different writers about one name do not show it is the same name (random nonces);
    // here each writer names each secret once, so every sealed name differs.
    const stored = text.trim().split('\n').map((line) => JSON.parse(line) as AuditRecord);
    const sealedNames = stored.flatMap((record) => (record.name === undefined ? [] : [record.name]));
    expect(new Set(sealedNames).size).toBe(sealedNames.length);

    const resolved = await collect(owner.readAudit({ action: 'secret.resolve' }));
    expect(resolved.map((r) => [r.actor, r.name])).toEqual([['agent:beta', 'stripe-live-key'], ['agent:alpha', 'openai-api-key']]);
    expect((await collect(owner.readAudit({ name: 'openai-api-key' }))).map((r) => r.action))
      .toEqual(['secret.resolve', 'secret.set']);
    expect(await collect(owner.readAudit({ name: 'stripe-live-key', limit: 1 }))).toHaveLength(1);
    expect((await owner.verifyAudit()).ok).toBe(true);

    // Alpha holds only its own audit key: with it, it opens its own record's name, never beta's.
    const alphaKey = derive(parseToken(alpha.token).agentKey, AUDIT_KEY_LABEL);
    const onlyAlpha = { keyFor: () => alphaKey, known: () => [], wipe: () => undefined };
    const alphaRecord = stored.find((r) => r.actor === 'agent:alpha' && r.action === 'secret.resolve')!;
    const betaRecord = stored.find((r) => r.actor === 'agent:beta' && r.action === 'secret.resolve')!;
    expect(openName(alphaRecord, onlyAlpha).name).toBe('openai-api-key');
    expect(openName({ ...betaRecord, actor: 'agent:alpha', generation: 1 }, onlyAlpha).name).toBe(betaRecord.name);
  });
});
