/**
 * The golden vaults (test/_fixtures/golden/, written once by make-golden.ts) still open with
 * today's code and read back exactly what was stored, as the owner and as each agent. A change
 * to any on-disk or token format fails here first, so it is always deliberate: new golden files
 * (and FORMAT.md) in the same change, and a reader for the old ones.
 */
import { chmodSync, cpSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openVault } from '../src/index.ts';
import {
  AGENTS, DAY, DELETED, type GoldenTokens, KEYFILE_AGENT, KEYFILE_SECRET, MADE_AT, OPENAI_V1, PASSPHRASE, PATHS, SECRETS,
} from './_fixtures/golden.ts';
import { tempDir } from './_fixtures/index.ts';

const tokens = JSON.parse(readFileSync(PATHS.tokens, 'utf8')) as GoldenTokens;
/** A day after the vaults were made: every token is inside its 30 days. */
const now = () => MADE_AT + DAY;

/** A private copy of a golden directory (opening writes audit records and locks; the originals stay as made). */
function copyOf(golden: string): string {
  const dir = join(tempDir('agent-vault-golden-'), 'vault');
  cpSync(golden, dir, { recursive: true });
  // git keeps no modes: give the copy the ones the vault made.
  chmodSync(dir, 0o700);
  for (const name of readdirSync(dir)) chmodSync(join(dir, name), 0o600);
  return dir;
}

function keyFileCopy(): string {
  const path = join(tempDir('agent-vault-golden-key-'), 'owner.key');
  cpSync(PATHS.keyFile, path);
  chmodSync(path, 0o600);
  return path;
}

describe('the golden passphrase vault', () => {
  it('opens with the passphrase and the owner reads every current value, version and date', async () => {
    const owner = await openVault({ dir: copyOf(PATHS.passphraseVault), passphrase: PASSPHRASE, now });
    for (const [name, { value }] of Object.entries(SECRETS)) expect(await owner.get(name)).toBe(value);
    expect(await owner.list()).toEqual([
      { name: 'db-url', version: 1, createdAt: new Date('2026-12-01T00:00:06.000Z'), updatedAt: new Date('2026-12-01T00:00:06.000Z'), agents: ['golden-bot', 'rotated-bot'] },
      { name: 'openai-api-key', version: 2, createdAt: new Date('2026-12-01T00:00:02.000Z'), updatedAt: new Date('2026-12-01T00:00:04.000Z'), agents: ['golden-bot'] },
      { name: 'owner-only', version: 1, createdAt: new Date('2026-12-01T00:00:08.000Z'), updatedAt: new Date('2026-12-01T00:00:08.000Z'), agents: [] },
    ]);
    expect((await owner.list()).map(({ name, version }) => [name, version]))
      .toEqual(Object.entries(SECRETS).map(([name, { version }]) => [name, version]).sort());
    await expect(owner.get(DELETED)).rejects.toMatchObject({ code: 'SECRET_NOT_FOUND' });
    await owner.close();
  });

  it('keeps its agents: policies, generations, expiry and the revocation', async () => {
    const owner = await openVault({ dir: copyOf(PATHS.passphraseVault), passphrase: PASSPHRASE, now });
    expect(await owner.listAgents()).toEqual([
      { id: 'golden-bot', status: 'active', allow: [...AGENTS['golden-bot'].allow], generation: 1, createdAt: new Date('2026-12-01T00:00:13.000Z'), expiresAt: new Date('2026-12-31T00:00:13.000Z') },
      { id: 'revoked-bot', status: 'revoked', allow: [...AGENTS['revoked-bot'].allow], generation: 2, createdAt: new Date('2026-12-01T00:00:35.000Z'), expiresAt: new Date('2026-12-31T00:00:35.000Z') },
      { id: 'rotated-bot', status: 'active', allow: [...AGENTS['rotated-bot'].allow], generation: 2, createdAt: new Date('2026-12-01T00:00:26.000Z'), expiresAt: new Date('2026-12-31T00:00:26.000Z') },
    ]);
    await owner.close();
  });

  it('its audit log verifies: 13 records, the same last hash', async () => {
    const owner = await openVault({ dir: copyOf(PATHS.passphraseVault), passphrase: PASSPHRASE, now });
    expect(await owner.verifyAudit()).toMatchObject({
      ok: true, records: 13, last: { seq: 13, hash: '391e1b0facdcbd599a2a7a4c7a47ea017599611692530a3feea901afe16d42e8' },
    });
    await owner.close();
  });

  it('the owner can still write to it, and an agent reads the new value', async () => {
    const dir = copyOf(PATHS.passphraseVault);
    const owner = await openVault({ dir, passphrase: PASSPHRASE, now });
    await owner.set('openai-api-key', 'sk-after-the-golden-v3');
    expect(await owner.list()).toContainEqual(expect.objectContaining({ name: 'openai-api-key', version: 3, agents: ['golden-bot'] }));
    const agent = await openVault({ dir, token: tokens['golden-bot'], now });
    expect(await agent.get('openai-api-key')).toBe('sk-after-the-golden-v3');
    expect(await owner.verifyAudit()).toMatchObject({ ok: true, records: 15 });
    await Promise.all([owner.close(), agent.close()]);
  });

  it('a wrong passphrase does not open it', async () => {
    await expect(openVault({ dir: copyOf(PATHS.passphraseVault), passphrase: `${PASSPHRASE}!`, now }))
      .rejects.toMatchObject({ code: 'ACCESS_DENIED' });
  });
});

describe('the golden agent tokens', () => {
  it('golden-bot reads what it was granted (the current versions) and nothing else', async () => {
    const agent = await openVault({ dir: copyOf(PATHS.passphraseVault), token: tokens['golden-bot'], now });
    expect([agent.role, agent.agentId]).toEqual(['agent', 'golden-bot']);
    expect(await agent.get('openai-api-key')).toBe(SECRETS['openai-api-key'].value);
    expect(await agent.get('openai-api-key')).not.toBe(OPENAI_V1);
    expect(await agent.get('db-url')).toBe(SECRETS['db-url'].value);
    await expect(agent.get('owner-only')).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
    await agent.close();
  });

  it('the rotated token reads; the token from before the rotation and the revoked one are refused', async () => {
    const dir = copyOf(PATHS.passphraseVault);
    const rotated = await openVault({ dir, token: tokens['rotated-bot'], now });
    expect(await rotated.get('db-url')).toBe(SECRETS['db-url'].value);
    await expect(rotated.get('openai-api-key')).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
    for (const token of [tokens['rotated-bot-before'], tokens['revoked-bot']]) {
      const refused = await openVault({ dir, token, now });
      await expect(refused.get('db-url')).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
      await refused.close();
    }
    await rotated.close();
  });

  it('golden-bot\'s token expires 30 days after it was made', async () => {
    const agent = await openVault({ dir: copyOf(PATHS.passphraseVault), token: tokens['golden-bot'], now: () => MADE_AT + 31 * DAY });
    await expect(agent.get('db-url')).rejects.toMatchObject({ code: 'TOKEN_EXPIRED' });
    await agent.close();
  });
});

describe('the golden key-file vault', () => {
  it('opens with its key file as the owner, and with its token as the agent', async () => {
    const dir = copyOf(PATHS.keyFileVault);
    const owner = await openVault({ dir, keyFile: keyFileCopy(), now });
    expect(await owner.get(KEYFILE_SECRET.name)).toBe(KEYFILE_SECRET.value);
    const agent = await openVault({ dir, token: tokens[KEYFILE_AGENT.id], now });
    expect(await agent.get(KEYFILE_SECRET.name)).toBe(KEYFILE_SECRET.value);
    expect(await owner.verifyAudit()).toMatchObject({ ok: true });
    await Promise.all([owner.close(), agent.close()]);
  });

  it('the passphrase vault\'s token is refused by the key-file vault (another vault id)', async () => {
    await expect(openVault({ dir: copyOf(PATHS.keyFileVault), token: tokens['golden-bot'], now }))
      .rejects.toMatchObject({ code: 'ACCESS_DENIED', reason: 'wrong-vault' });
  });
});
