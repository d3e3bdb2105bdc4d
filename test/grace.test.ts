/**
 * `rotateAgent(id, { grace })`: the replaced token keeps its scope for the grace, then stops; the
 * new token works at once; an owner write after the grace removes the old token's wrapped keys
 * from the files. Real files, and a clock the test moves (no sleeping, no timing margins).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createVault, openVault, type Vault } from '../src/index.ts';
import { fileBackend } from '../src/backends/file.ts';
import { bytesToHex } from '../src/_bytes.ts';
import { ad, decodeSecret } from '../src/_records.ts';
import { open } from '../src/crypto.ts';
import { parseToken } from '../src/token.ts';
import { tempDir } from './_fixtures/index.ts';

const VALUE = 'sk-grace-canary-3b9d7f1e';
const MINUTE = 60_000;

async function setup(ttl = '1d') {
  const root = tempDir('av-grace-');
  const dir = join(root, 'vault');
  const clock = { now: Date.UTC(2026, 5, 1, 12) };
  const now = () => clock.now;
  const owner = await createVault({ dir, keyFile: join(root, 'key'), now });
  await owner.set('openai-api-key', VALUE);
  await owner.set('other-secret', 'not for bots');
  const { token: old } = await owner.createAgent('bot', { allow: ['openai-*'], ttl });
  const agent = (token: string) => openVault({ dir, token, now });
  // An agent process started before the rotation: it keeps its vault object (and token) throughout.
  const running = await agent(old);
  expect(await running.get('openai-api-key')).toBe(VALUE);
  return { dir, clock, owner, old, agent, running };
}

/** Every wrapped data key in the secret files that the token's key opens (read as an attacker would: from the files). */
async function keysOpenedBy(dir: string, token: string): Promise<string[]> {
  const me = parseToken(token);
  const backend = fileBackend({ dir });
  const opened: string[] = [];
  for (const key of await backend.list('s/')) {
    const record = decodeSecret((await backend.get(key))!, { vaultId: me.vaultId, key, publicKey: me.ownerKey });
    for (const grant of record.grants) {
      try {
        open(me.agentKey, grant.wrappedKey, ad.grant(me.vaultId, key.slice(2), record.version, me.agentId, me.generation), 'grant');
        opened.push(key);
      } catch {
        // not this token's
      }
    }
  }
  return opened;
}

async function agentRecordMagic(dir: string, token: string): Promise<string> {
  const bytes = (await fileBackend({ dir }).get(`a/${bytesToHex(parseToken(token).loc)}`))!;
  return new TextDecoder().decode(bytes.subarray(0, 4));
}

const refusal = (vault: Vault, name = 'openai-api-key') => vault.get(name).then(() => 'released', (error) => error.reason ?? error.code);

describe('agent rotation with a grace', () => {
  it('the old token keeps its scope during the grace and stops after it; the new token works from the start', async () => {
    const { clock, owner, old, agent, running } = await setup();
    const { token, agent: info } = await owner.rotateAgent('bot', { grace: '15m' });
    expect(info.generation).toBe(2);
    expect(info.previous).toEqual({ generation: 1, until: new Date(clock.now + 15 * MINUTE) });

    const fresh = await agent(token);
    expect(await fresh.get('openai-api-key')).toBe(VALUE);
    expect(await running.get('openai-api-key')).toBe(VALUE);
    expect(await (await agent(old)).get('openai-api-key')).toBe(VALUE);
    // The same scope, not more: the old token is still refused what it never had.
    expect(await refusal(running, 'other-secret')).toBe('not-granted');
    // A secret set during the grace is granted to both tokens (same patterns).
    await owner.set('openai-org', 'org-123');
    expect(await running.get('openai-org')).toBe('org-123');
    expect(await fresh.get('openai-org')).toBe('org-123');

    clock.now += 15 * MINUTE - 1;
    expect(await running.get('openai-api-key')).toBe(VALUE);
    clock.now += 1;
    await expect(running.get('openai-api-key')).rejects.toMatchObject({ reason: 'rotated', message: expect.stringContaining('grace period ended') });
    expect(await refusal(await agent(old))).toBe('rotated');
    expect(await fresh.get('openai-api-key')).toBe(VALUE);
    expect((await owner.listAgents())[0]!.previous).toBeUndefined();
  });

  it('after the grace, the next owner write removes the old token\'s wrapped keys from every file', async () => {
    const { dir, clock, owner, old, agent } = await setup();
    const { token } = await owner.rotateAgent('bot', { grace: '15m' });
    expect((await keysOpenedBy(dir, old)).length).toBe(1);
    expect(await agentRecordMagic(dir, token)).toBe('AVG2');
    clock.now += 16 * MINUTE;
    // Until an owner writes, the old grant is still in the files: the end of the grace is checked
    // by the agent's library (advisory against someone reading the files, as expiry is).
    expect(await keysOpenedBy(dir, old)).toHaveLength(1);
    // A `set` of an unrelated secret (which loads only that one record otherwise) ends the grace everywhere.
    await owner.set('unrelated', 'v');
    expect(await keysOpenedBy(dir, old)).toEqual([]);
    expect(await agentRecordMagic(dir, token)).toBe('AVA2');
    expect(await keysOpenedBy(dir, token)).toHaveLength(1);
    expect(await (await agent(token)).get('openai-api-key')).toBe(VALUE);
    expect(await refusal(await agent(old))).toBe('rotated');
  });

  it('revoking during the grace kills both tokens at once and leaves neither a key', async () => {
    const { dir, owner, old, agent, running } = await setup();
    const { token } = await owner.rotateAgent('bot', { grace: '1h' });
    const fresh = await agent(token);
    expect(await fresh.get('openai-api-key')).toBe(VALUE);
    await owner.revokeAgent('bot');
    expect(await refusal(running)).toBe('revoked');
    expect(await refusal(fresh)).toBe('revoked');
    expect(await refusal(await agent(old))).toBe('revoked');
    expect(await keysOpenedBy(dir, old)).toEqual([]);
    expect(await keysOpenedBy(dir, token)).toEqual([]);
  });

  it('rotating again during a grace replaces it: the oldest token dies at once, the middle one gets the new grace', async () => {
    const { dir, clock, owner, old, agent, running } = await setup();
    const { token: second } = await owner.rotateAgent('bot', { grace: '1h' });
    clock.now += 10 * MINUTE;
    const { token: third, agent: info } = await owner.rotateAgent('bot', { grace: '5m' });
    expect(info.previous).toEqual({ generation: 2, until: new Date(clock.now + 5 * MINUTE) });
    expect(await refusal(running)).toBe('rotated');
    expect(await keysOpenedBy(dir, old)).toEqual([]);
    const middle = await agent(second);
    expect(await middle.get('openai-api-key')).toBe(VALUE);
    expect(await (await agent(third)).get('openai-api-key')).toBe(VALUE);
    clock.now += 5 * MINUTE;
    expect(await refusal(middle)).toBe('rotated');

    // A rotation without a grace ends any grace at once.
    const { token: fourth } = await owner.rotateAgent('bot', { grace: '1h' });
    const { token: fifth } = await owner.rotateAgent('bot');
    expect(await refusal(await agent(fourth))).toBe('rotated');
    expect(await keysOpenedBy(dir, fourth)).toEqual([]);
    expect(await (await agent(fifth)).get('openai-api-key')).toBe(VALUE);
  });

  it('a grace never outlives the old token\'s own expiry, and an expired token gets none', async () => {
    const { clock, owner, old, agent } = await setup('1h');
    const expiresAt = clock.now + 60 * MINUTE;
    const { agent: info } = await owner.rotateAgent('bot', { grace: '1d' });
    expect(info.previous).toEqual({ generation: 1, until: new Date(expiresAt) });
    clock.now = expiresAt - 1;
    expect(await (await agent(old)).get('openai-api-key')).toBe(VALUE);
    clock.now = expiresAt;
    // The grace was cut to the token's expiry, so it ends there.
    expect(await refusal(await agent(old))).toBe('rotated');

    clock.now += 2 * 60 * MINUTE;
    const { token: third, agent: later } = await owner.rotateAgent('bot', { grace: '15m' });
    // The second token (ttl 1h from its rotation) had expired too: nothing is kept for it.
    expect(later.previous).toBeUndefined();
    expect(await (await agent(third)).get('openai-api-key')).toBe(VALUE);
  });

  it('refuses a grace that is not a positive duration, before changing anything', async () => {
    const { owner, running } = await setup();
    for (const grace of ['0m', 'soon', -5, 0]) {
      await expect(owner.rotateAgent('bot', { grace })).rejects.toMatchObject({ code: 'USAGE' });
    }
    expect(await running.get('openai-api-key')).toBe(VALUE);
  });

  it('audits agent.rotate with the grace in the record, never a token', async () => {
    const { dir, clock, owner } = await setup();
    const until = new Date(clock.now + 15 * MINUTE).toISOString();
    const { token } = await owner.rotateAgent('bot', { grace: '15m' });
    const rotations = [];
    for await (const record of owner.readAudit({ action: 'agent.rotate' })) rotations.push(record);
    expect(rotations).toHaveLength(1);
    expect(rotations[0]).toMatchObject({ name: 'bot', outcome: 'ok', note: `grace: generation 1 until ${until}` });
    expect(readFileSync(join(dir, 'audit.jsonl'), 'utf8')).not.toContain(token.slice(4, 24));
    expect((await owner.verifyAudit()).ok).toBe(true);
  });
});
