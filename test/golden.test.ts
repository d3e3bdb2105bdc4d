/**
 * The golden vaults still open with today's code and read back exactly what was stored, as the
 * owner and as each agent: format 2 (test/_fixtures/golden-v2/, written by make-golden.ts) as it
 * is, format 1 (test/_fixtures/golden/, written by the version before owner-signed records) after
 * the one explicit upgrade, `migrateVault` (`agent-vault migrate`). A change to any on-disk or
 * token format fails here first, so it is always deliberate: new golden files (and FORMAT.md) in
 * the same change, and a reader or a migration for the old ones.
 */
import { chmodSync, cpSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { migrateVault, type OpenVaultOptions, openVault as openAny } from '../src/index.ts';
import {
  AGENTS, DAY, DELETED, type GoldenTokens, KEYFILE_AGENT, KEYFILE_SECRET, MADE_AT, OPENAI_V1, PASSPHRASE, PATHS as PATHS_V1,
  PATHS_V2 as PATHS, SECRETS,
} from './_fixtures/golden.ts';
import { tempDir } from './_fixtures/index.ts';

const tokens = JSON.parse(readFileSync(PATHS.tokens, 'utf8')) as GoldenTokens;
const tokensV1 = JSON.parse(readFileSync(PATHS_V1.tokens, 'utf8')) as GoldenTokens;

/**
 * Every copy of one golden vault has the same vault id: each owner gets its own config directory,
 * so the newest state one test's owner remembers is not held against the next test's fresh copy.
 */
const openVault = (options: OpenVaultOptions) =>
  openAny(options.token === undefined ? { configDir: tempDir('agent-vault-golden-config-'), ...options } : options);
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

function keyFileCopy(from = PATHS.keyFile): string {
  const path = join(tempDir('agent-vault-golden-key-'), 'owner.key');
  cpSync(from, path);
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
      ok: true, records: 13, last: { seq: 13, hash: 'eca176a817a491098826d3d76ed0ba6f2e8bb438383256fedd86586b1c35b6f0' },
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

describe('the format-1 golden vaults (before owner-signed records)', () => {
  const migrated = async (dir: string, unlock: { passphrase: string } | { keyFile: string }) => {
    const configDir = tempDir('agent-vault-golden-config-');
    const result = await migrateVault({ dir, ...unlock, now, configDir });
    return { result, configDir };
  };

  it('the owner is told the exact command that upgrades it; a format-1 token is told to get a new one', async () => {
    const dir = copyOf(PATHS_V1.passphraseVault);
    await expect(openVault({ dir, passphrase: PASSPHRASE, now })).rejects.toMatchObject({
      code: 'USAGE', message: expect.stringContaining('agent-vault migrate'),
    });
    await expect(openVault({ dir, token: tokensV1['golden-bot'], now })).rejects.toMatchObject({
      code: 'ACCESS_DENIED', reason: 'old-token', message: expect.stringContaining('agent rotate'),
    });
  });

  it('migrateVault keeps every value, version, date and agent, and moves each agent to its next generation', async () => {
    const dir = copyOf(PATHS_V1.passphraseVault);
    const { result, configDir } = await migrated(dir, { passphrase: PASSPHRASE });
    expect(result.migrated).toBe(true);
    expect(result.agents.map(({ agent }) => [agent.id, agent.generation, agent.status])).toEqual([
      ['golden-bot', 2, 'active'], ['rotated-bot', 3, 'active'],
    ]);
    const owner = await openVault({ dir, passphrase: PASSPHRASE, now, configDir });
    for (const [name, { value }] of Object.entries(SECRETS)) expect(await owner.get(name)).toBe(value);
    expect((await owner.list()).map(({ name, version, agents }) => [name, version, agents])).toEqual([
      ['db-url', 1, ['golden-bot', 'rotated-bot']], ['openai-api-key', 2, ['golden-bot']], ['owner-only', 1, []],
    ]);
    expect((await owner.listAgents()).map(({ id, status, generation, expiresAt }) => [id, status, generation, expiresAt.toISOString()])).toEqual([
      ['golden-bot', 'active', 2, '2026-12-31T00:00:13.000Z'],
      ['revoked-bot', 'revoked', 3, '2026-12-31T00:00:35.000Z'],
      ['rotated-bot', 'active', 3, '2026-12-31T00:00:26.000Z'],
    ]);
    // The old log is kept and still verifies: its 12 records, this open and the three reads.
    expect(await owner.verifyAudit()).toMatchObject({ ok: true, records: 16 });
    const tokenOf = (id: string) => result.agents.find(({ agent }) => agent.id === id)!.token;
    const golden = await openVault({ dir, token: tokenOf('golden-bot'), now });
    expect(await golden.get('openai-api-key')).toBe(SECRETS['openai-api-key'].value);
    await expect(golden.get('owner-only')).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
    const rotated = await openVault({ dir, token: tokenOf('rotated-bot'), now });
    expect(await rotated.get('db-url')).toBe(SECRETS['db-url'].value);
    // Nothing of format 1 opens anything any more, and a second run changes nothing.
    for (const token of Object.values(tokensV1)) {
      await expect(openVault({ dir, token, now })).rejects.toMatchObject({ reason: 'old-token' });
    }
    expect(await migrateVault({ dir, passphrase: PASSPHRASE, now, configDir })).toEqual({ migrated: false, agents: [] });
    await Promise.all([owner.close(), golden.close(), rotated.close()]);
  });

  it('the key-file vault migrates too, and the deleted secret stays gone', async () => {
    const dir = copyOf(PATHS_V1.keyFileVault);
    const keyFile = keyFileCopy(PATHS_V1.keyFile);
    const { result, configDir } = await migrated(dir, { keyFile });
    const owner = await openVault({ dir, keyFile, now, configDir });
    expect(await owner.get(KEYFILE_SECRET.name)).toBe(KEYFILE_SECRET.value);
    const agent = await openVault({ dir, token: result.agents[0]!.token, now });
    expect(await agent.get(KEYFILE_SECRET.name)).toBe(KEYFILE_SECRET.value);
    const passphraseDir = copyOf(PATHS_V1.passphraseVault);
    const again = await migrated(passphraseDir, { passphrase: PASSPHRASE });
    const passphraseOwner = await openVault({ dir: passphraseDir, passphrase: PASSPHRASE, now, configDir: again.configDir });
    await expect(passphraseOwner.get(DELETED)).rejects.toMatchObject({ code: 'SECRET_NOT_FOUND' });
    await Promise.all([owner.close(), agent.close(), passphraseOwner.close()]);
  });
});
