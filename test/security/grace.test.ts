/**
 * Attacks on a rotation's grace by a writer of the vault directory who holds only agent keys
 * (the old token, and the new one too): extend a grace, give itself one, bring an ended or
 * revoked generation back with a genuine older record. Each attack writes the files and
 * asserts what the attacker got: no value, an IntegrityError (or the refusal it already had).
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createVault, IntegrityError, openVault, type Vault } from '../../src/index.ts';
import { fileBackend } from '../../src/backends/file.ts';
import { bytesToHex } from '../../src/_bytes.ts';
import { decodeAgent, encodeAgent, openPolicy, openPreviousPolicy } from '../../src/_records.ts';
import { ownerSigner, type SignedPlace } from '../../src/_signed.ts';
import { randomBytes } from '../../src/crypto.ts';
import { parseToken } from '../../src/token.ts';
import { tempDir } from '../_fixtures/index.ts';

const VALUE = 'sk-grace-attack-canary-51c0';
const MINUTE = 60_000;

async function setup() {
  const root = tempDir('av-grace-attack-');
  const dir = join(root, 'vault');
  const clock = { now: Date.UTC(2026, 5, 1, 12) };
  const now = () => clock.now;
  const owner = await createVault({ dir, keyFile: join(root, 'key'), now, audit: false });
  await owner.set('openai-api-key', VALUE);
  const { token: old } = await owner.createAgent('bot', { allow: ['openai-*'], ttl: '1d' });
  const agent = (token: string) => openVault({ dir, token, now, audit: false });
  const running = await agent(old);
  expect(await running.get('openai-api-key')).toBe(VALUE);
  const files = fileBackend({ dir });
  const me = parseToken(old);
  const ownKey = `a/${bytesToHex(me.loc)}`;
  const place = { vaultId: me.vaultId, key: ownKey, publicKey: me.ownerKey };
  /** Every record file as it is now, to put back later. */
  const copy = async () => {
    const saved = new Map<string, Uint8Array>();
    for (const key of [...(await files.list('a/')), ...(await files.list('s/'))]) saved.set(key, (await files.get(key))!);
    return saved;
  };
  const putBack = async (saved: Map<string, Uint8Array>) => {
    for (const [key, bytes] of saved) await files.set(key, bytes);
  };
  return { clock, owner, old, agent, running, files, ownKey, place, copy, putBack };
}

const outcome = (vault: Vault) => vault.get('openai-api-key').then(
  (value) => (value === VALUE ? 'RELEASED' : 'other value'),
  (error) => (error instanceof IntegrityError ? 'IntegrityError' : error.reason ?? error.code),
);

/** A graced record re-made by an agent holding both tokens' keys, with a grace until `until`, signed with its own key. */
function forgedGrace(record: Uint8Array, place: SignedPlace, tokens: { old: string; fresh: string }, until: number) {
  const old = parseToken(tokens.old);
  const fresh = parseToken(tokens.fresh);
  const decoded = decodeAgent(record, place);
  const policy = openPolicy(fresh.vaultId, fresh.agentId, decoded, fresh.agentKey, 'own record');
  const previousPolicy = decoded.previous
    ? openPreviousPolicy(old.vaultId, old.agentId, decoded.previous, old.agentKey, 'own record')
    : { ...policy, expiresAt: until };
  return encodeAgent({
    vaultId: fresh.vaultId, loc: place.key.slice(2), seq: decoded.seq, agentId: fresh.agentId, generation: decoded.generation,
    status: decoded.status, sealedId: decoded.sealedId, agentKey: fresh.agentKey, policy,
    previous: { generation: old.generation, graceEndsAt: until, agentKey: old.agentKey, policy: { ...previousPolicy, expiresAt: until } },
  }, ownerSigner(randomBytes(32)));
}

describe('attacks on a grace (a directory writer with agent keys only)', () => {
  it('cannot extend a grace by changing its end in place (the owner signature covers it)', async () => {
    const { clock, owner, old, agent, running, files, ownKey } = await setup();
    const { token: fresh } = await owner.rotateAgent('bot', { grace: '15m' });
    const bytes = (await files.get(ownKey))!.slice();
    // AVG2 ‖ seq u64 ‖ generation u32 ‖ status u8 ‖ u16 len ‖ sealedId ‖ previous generation u32 ‖ graceEndsAt u64
    const idLength = new DataView(bytes.buffer).getUint16(17);
    const endAt = 19 + idLength + 4;
    new DataView(bytes.buffer).setBigUint64(endAt, BigInt(clock.now + 365 * 24 * 60 * MINUTE));
    await files.set(ownKey, bytes);
    clock.now += 20 * MINUTE;
    expect(await outcome(running)).toBe('IntegrityError');
    expect(await outcome(await agent(old))).toBe('IntegrityError');
    // Destroying the record denies the new token too, and the owner refuses to act on it.
    expect(await outcome(await agent(fresh))).toBe('IntegrityError');
    await expect(owner.set('another', 'x')).rejects.toBeInstanceOf(IntegrityError);
  });

  it('cannot re-make a graced record with a later end, even holding both tokens (signed with its own key)', async () => {
    const { clock, owner, old, agent, running, files, ownKey, place } = await setup();
    const { token: fresh } = await owner.rotateAgent('bot', { grace: '15m' });
    const later = clock.now + 365 * 24 * 60 * MINUTE;
    await files.set(ownKey, forgedGrace((await files.get(ownKey))!, place, { old, fresh }, later));
    clock.now += 20 * MINUTE;
    expect(await outcome(running)).toBe('IntegrityError');
    expect(await outcome(await agent(old))).toBe('IntegrityError');
  });

  it('cannot give itself a grace after a rotation without one', async () => {
    const { clock, owner, old, agent, running, files, ownKey, place } = await setup();
    const { token: fresh } = await owner.rotateAgent('bot');
    expect(await outcome(running)).toBe('rotated');
    await files.set(ownKey, forgedGrace((await files.get(ownKey))!, place, { old, fresh }, clock.now + 60 * MINUTE));
    expect(await outcome(running)).toBe('IntegrityError');
    expect(await outcome(await agent(old))).toBe('IntegrityError');
  });

  it('cannot bring back a grace that a later rotation ended, with the genuine graced records put back', async () => {
    const { owner, old, agent, running, copy, putBack } = await setup();
    const { token: second } = await owner.rotateAgent('bot', { grace: '1h' });
    const during = await copy();
    // Still inside the first grace by the clock, but the owner rotated again without one.
    const { token: third } = await owner.rotateAgent('bot');
    expect(await outcome(running)).toBe('rotated');
    await putBack(during);
    // The state lists the newer record: the genuine older one is a replay, in a running agent and a fresh one.
    expect(await outcome(running)).toBe('IntegrityError');
    expect(await outcome(await agent(old))).toBe('IntegrityError');
    expect(await outcome(await agent(second))).toBe('IntegrityError');
    expect(await outcome(await agent(third))).toBe('IntegrityError');
    await expect(owner.list()).rejects.toBeInstanceOf(IntegrityError);
  });

  it('cannot undo a revocation during a grace by putting back the graced records', async () => {
    const { owner, old, agent, copy, putBack } = await setup();
    const { token: fresh } = await owner.rotateAgent('bot', { grace: '1h' });
    const during = await copy();
    await owner.revokeAgent('bot');
    await putBack(during);
    expect(await outcome(await agent(old))).toBe('IntegrityError');
    expect(await outcome(await agent(fresh))).toBe('IntegrityError');
    await expect(owner.createAgent('bot', { allow: ['*'] })).rejects.toBeInstanceOf(IntegrityError);
  });

  it('cannot keep the old grants past the purge by putting back the secret records from the grace', async () => {
    const { clock, owner, old, agent, running, copy, putBack } = await setup();
    await owner.rotateAgent('bot', { grace: '15m' });
    const secrets = new Map([...(await copy())].filter(([key]) => key.startsWith('s/')));
    clock.now += 16 * MINUTE;
    await owner.set('unrelated', 'v');
    await putBack(secrets);
    expect(await outcome(running)).toBe('rotated');
    expect(await outcome(await agent(old))).toBe('rotated');
    await expect(owner.list()).rejects.toBeInstanceOf(IntegrityError);
  });
});
