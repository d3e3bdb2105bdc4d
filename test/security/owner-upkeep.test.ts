/**
 * The surfaces issue 15's owner operations add, attacked: `agent update` (forged by an agent that
 * can write the vault directory, or undone by putting its wider record back), narrowing that must
 * take the keys away and not only the permission, backups that are tampered with, pieced
 * together or older than the vault, and passwd over a planted header. Each attack is performed
 * through the files and the public API, and each is refused with a typed error.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileBackend } from '../../src/backends/file.ts';
import { createVault, IntegrityError, openVault, restoreVault, VaultExistsError } from '../../src/index.ts';
import { ad, decodeSecret } from '../../src/_records.ts';
import { HEADER_KEY } from '../../src/_header.ts';
import { open, utf8 } from '../../src/crypto.ts';
import { tempDir } from '../_fixtures/index.ts';
import { attacker } from './_attacker.ts';

/** A file vault with two secrets; `bot` may read both. Owner state kept in its own config directory. */
async function setup() {
  const root = tempDir('av-upkeep-');
  const dir = join(root, 'vault');
  const keyFile = join(root, 'owner.key');
  const configDir = join(root, 'config');
  const owner = await createVault({ dir, keyFile, configDir });
  await owner.set('openai-api-key', 'sk-openai-upkeep');
  await owner.set('anthropic-api-key', 'sk-ant-upkeep');
  const { token } = await owner.createAgent('bot', { allow: ['openai-*', 'anthropic-*'], ttl: '1h' });
  const bot = await openVault({ dir, token });
  const backend = fileBackend({ dir });
  return { root, dir, keyFile, configDir, owner, token, bot, backend, evil: attacker(token, backend) };
}

type Setup = Awaited<ReturnType<typeof setup>>;

/** The data key this agent's token unwraps from `record`, trying every grant; undefined when none opens. */
function grantKey(v: Setup, nameId: string, record: ReturnType<typeof decodeSecret>): Uint8Array | undefined {
  const { me } = v.evil;
  for (const grant of record.grants) {
    try {
      return open(me.agentKey, grant.wrappedKey, ad.grant(me.vaultId, nameId, record.version, me.agentId, me.generation), 'grant');
    } catch {
      // another agent's grant
    }
  }
  return undefined;
}

/** Every secret record, with whether this agent's token unwraps a data key from it. */
async function openableByBot(v: Setup): Promise<Map<string, boolean>> {
  const out = new Map<string, boolean>();
  for (const key of await v.backend.list('s/')) {
    const record = decodeSecret((await v.backend.get(key))!, { vaultId: v.evil.me.vaultId, key, publicKey: v.evil.me.ownerKey });
    out.set(key, grantKey(v, key.slice(2), record) !== undefined);
  }
  return out;
}

describe('agent update is the owner\'s alone', () => {
  it('an agent vault cannot call it, and an update forged in the files (wider, longer) is refused everywhere', async () => {
    const v = await setup();
    await v.owner.updateAgent('bot', { allow: ['openai-*'] });
    await expect(v.bot.updateAgent('bot', { allow: ['*'] })).rejects.toMatchObject({ code: 'ACCESS_DENIED', reason: 'owner-only' });
    const genuine = (await v.backend.get(v.evil.ownKey))!;
    const secretsBefore = await Promise.all((await v.backend.list('s/')).map((key) => v.backend.get(key)));
    // What `agent update bot --allow '*' --ttl 10y` would write, signed by a key that is not the owner's.
    await v.evil.rewriteOwnPolicy({ allow: ['*'], expiresAt: Date.now() + 10 * 365 * 86_400_000 });
    await expect(v.bot.get('anthropic-api-key')).rejects.toBeInstanceOf(IntegrityError);
    await expect((await openVault({ dir: v.dir, token: v.token })).get('openai-api-key')).rejects.toBeInstanceOf(IntegrityError);
    // The owner's next operations refuse it instead of acting on it; no secret record was rewritten.
    await expect(v.owner.updateAgent('bot', { ttl: '2h' })).rejects.toBeInstanceOf(IntegrityError);
    await expect(v.owner.listAgents()).rejects.toBeInstanceOf(IntegrityError);
    expect(await Promise.all((await v.backend.list('s/')).map((key) => v.backend.get(key)))).toEqual(secretsBefore);
    await v.backend.set(v.evil.ownKey, genuine);
    expect((await v.owner.listAgents())[0]!.allow).toEqual(['openai-*']);
  });

  it('the wider genuine record from before a narrowing, put back, is a replay: refused by the agent and the owner', async () => {
    const v = await setup();
    const wide = (await v.backend.get(v.evil.ownKey))!;
    const wideSecrets = new Map(await Promise.all((await v.backend.list('s/')).map(async (key) => [key, (await v.backend.get(key))!] as const)));
    await v.owner.updateAgent('bot', { allow: ['openai-*'] });
    // Same generation, genuinely owner-signed: only the signed state tells it from the current one.
    await v.backend.set(v.evil.ownKey, wide);
    for (const [key, bytes] of wideSecrets) await v.backend.set(key, bytes);
    await expect(v.bot.get('anthropic-api-key')).rejects.toBeInstanceOf(IntegrityError);
    await expect((await openVault({ dir: v.dir, token: v.token })).get('anthropic-api-key')).rejects.toBeInstanceOf(IntegrityError);
    await expect(v.owner.list()).rejects.toBeInstanceOf(IntegrityError);
  });
});

describe('narrowing takes the keys away, not only the permission', () => {
  it('after update --allow openai-*, no grant in the anthropic record opens with the token, and widening gives it back', async () => {
    const v = await setup();
    expect(await v.bot.get('anthropic-api-key')).toBe('sk-ant-upkeep');
    const before = await openableByBot(v);
    expect([...before.values()]).toEqual([true, true]);
    const oldRecords = new Map(await Promise.all([...before.keys()].map(async (key) => [key, (await v.backend.get(key))!] as const)));

    const info = await v.owner.updateAgent('bot', { allow: ['openai-*'] });
    expect(info.allow).toEqual(['openai-*']);
    expect(info.generation).toBe(1); // same token
    const after = await openableByBot(v);
    expect([...after.values()].filter(Boolean)).toHaveLength(1);
    // The running agent, and a fresh one, are refused the removed secret and keep the other.
    await expect(v.bot.get('anthropic-api-key')).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
    expect(await v.bot.get('openai-api-key')).toBe('sk-openai-upkeep');
    // A data key unwrapped from the old record (kept by the agent) does not open the new one: it was re-sealed.
    const [removedKey] = [...after].find(([, openable]) => !openable)!;
    const oldDek = grantKey(v, removedKey.slice(2), decodeSecret(oldRecords.get(removedKey)!, {
      vaultId: v.evil.me.vaultId, key: removedKey, publicKey: v.evil.me.ownerKey,
    }))!;
    const current = decodeSecret((await v.backend.get(removedKey))!, { vaultId: v.evil.me.vaultId, key: removedKey, publicKey: v.evil.me.ownerKey });
    expect(() => open(oldDek, current.sealedValue, ad.value(v.evil.me.vaultId, removedKey.slice(2), current.prefix), 'value')).toThrow();
    expect((await v.owner.list()).find((s) => s.name === 'anthropic-api-key')!.agents).toEqual([]);

    await v.owner.updateAgent('bot', { allow: ['openai-*', 'anthropic-*'] });
    expect([...(await openableByBot(v)).values()]).toEqual([true, true]);
    expect(await v.bot.get('anthropic-api-key')).toBe('sk-ant-upkeep');
    expect((await v.owner.verifyAudit()).ok).toBe(true);
  });

  it('a longer ttl keeps the token past its old expiry; the agent record stays at its generation', async () => {
    let clock = Date.now();
    const root = tempDir('av-upkeep-ttl-');
    const dir = join(root, 'vault');
    const owner = await createVault({ dir, keyFile: join(root, 'k'), configDir: join(root, 'c'), now: () => clock });
    await owner.set('openai-api-key', 'sk-ttl');
    const { token } = await owner.createAgent('bot', { allow: ['openai-*'], ttl: '1h' });
    const bot = await openVault({ dir, token, now: () => clock });
    await owner.updateAgent('bot', { ttl: '3h' });
    clock += 2 * 3_600_000;
    expect(await bot.get('openai-api-key')).toBe('sk-ttl');
    clock += 2 * 3_600_000;
    await expect(bot.get('openai-api-key')).rejects.toMatchObject({ code: 'TOKEN_EXPIRED' });
  });
});

/** Every file of a vault directory but the audit log, by name. */
function vaultFiles(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((name) => !name.startsWith('audit') && !name.startsWith('.')).sort() : [];
}

describe('backups', () => {
  it('a restored vault verifies: same secrets, agents and tokens; the vault it came from still opens', async () => {
    const v = await setup();
    const backup = await v.owner.backup();
    const target = join(v.root, 'restored');
    const restored = await restoreVault(backup, { dir: target, keyFile: v.keyFile, configDir: v.configDir });
    expect(restored.id).toBe(v.owner.id);
    expect((await restored.list()).map((s) => [s.name, s.agents])).toEqual([['anthropic-api-key', ['bot']], ['openai-api-key', ['bot']]]);
    expect(await (await openVault({ dir: target, token: v.token })).get('anthropic-api-key')).toBe('sk-ant-upkeep');
    // The audit log is not in a backup: without it, verify says the log no longer reaches the state's anchor.
    expect((await restored.verifyAudit()).ok).toBe(false);
    await restored.close();
    // The original, at the same state, is not taken for a rollback.
    expect(await (await openVault({ dir: v.dir, keyFile: v.keyFile, configDir: v.configDir })).get('openai-api-key')).toBe('sk-openai-upkeep');
    // Restoring again where a vault now is: refused, nothing changed.
    const files = vaultFiles(target).map((name) => readFileSync(join(target, name)));
    await expect(restoreVault(backup, { dir: target, keyFile: v.keyFile, configDir: v.configDir })).rejects.toBeInstanceOf(VaultExistsError);
    expect(vaultFiles(target).map((name) => readFileSync(join(target, name)))).toEqual(files);
  });

  it('restored with its audit log beside it, audit verify is clean', async () => {
    const v = await setup();
    const backup = await v.owner.backup();
    await v.owner.close();
    const target = join(v.root, 'restored-with-log');
    mkdirSync(target, { mode: 0o700 });
    cpSync(join(v.dir, 'audit.jsonl'), join(target, 'audit.jsonl'));
    const restored = await restoreVault(backup, { dir: target, keyFile: v.keyFile, configDir: v.configDir });
    expect((await restored.verifyAudit()).ok).toBe(true);
  });

  it('a flipped byte, a truncation, or two backups pieced together: IntegrityError or UsageError, nothing written', async () => {
    const v = await setup();
    const backup = utf8.decode(await v.owner.backup());
    // A second vault unlocked by the same key file (allowed: CI shares one), so its backup opens with it too.
    const other = await createVault({ dir: join(v.root, 'other'), keyFile: v.keyFile, configDir: v.configDir });
    await other.set('openai-api-key', 'sk-other');
    const otherBackup = utf8.decode(await other.backup());
    const [line1, sealed] = backup.split('\n') as [string, string];
    const [otherLine1, otherSealed] = otherBackup.split('\n') as [string, string];
    const flip = (text: string, at: number) => text.slice(0, at) + (text[at] === 'A' ? 'B' : 'A') + text.slice(at + 1);
    const attempts: [string, string, string][] = [
      ['a flipped byte in the sealed records', `${line1}\n${flip(sealed, 40)}\n`, 'INTEGRITY'],
      ['a truncated sealed part', `${line1}\n${sealed.slice(0, -20)}\n`, 'INTEGRITY'],
      ["this vault's header line with the other's records", `${line1}\n${otherSealed}\n`, 'INTEGRITY'],
      ["the other's header line with this vault's records", `${otherLine1}\n${sealed}\n`, 'INTEGRITY'],
      ['a third line', `${line1}\n${sealed}\nmore\n`, 'USAGE'],
    ];
    for (const [what, text, code] of attempts) {
      const target = join(v.root, `target-${code}-${attempts.findIndex(([w]) => w === what)}`);
      const error = await restoreVault(utf8.encode(text), { dir: target, keyFile: v.keyFile, configDir: v.configDir }).catch((e) => e);
      expect(error, what).toMatchObject({ code });
      expect(vaultFiles(target), what).toEqual([]);
      expect(String(error.message)).not.toMatch(/sk-/);
    }
  });

  it('a vault with a planted record is not backed up: the backup would not restore', async () => {
    const v = await setup();
    await v.evil.rewriteOwnPolicy({ allow: ['*'] });
    await expect(v.owner.backup()).rejects.toBeInstanceOf(IntegrityError);
  });

  it('an old backup does not roll a newer vault back unless asked; then no state from before the restore is accepted', async () => {
    const v = await setup();
    const old = await v.owner.backup();
    await v.owner.revokeAgent('bot');
    await v.owner.delete('anthropic-api-key');
    await v.owner.close();
    const newer = join(v.root, 'newer-copy');
    cpSync(v.dir, newer, { recursive: true });
    // The vault is lost (or an attacker removed it), and the old backup is offered in its place.
    rmSync(v.dir, { recursive: true });
    const refused = await restoreVault(old, { dir: v.dir, keyFile: v.keyFile, configDir: v.configDir }).catch((e) => e);
    expect(refused).toBeInstanceOf(IntegrityError);
    expect(refused.message).toMatch(/older than the newest state/);
    expect(vaultFiles(v.dir)).toEqual([]);

    const restored = await restoreVault(old, { dir: v.dir, keyFile: v.keyFile, configDir: v.configDir, allowRollback: true });
    expect((await restored.list()).map((s) => s.name)).toEqual(['anthropic-api-key', 'openai-api-key']);
    expect((await restored.listAgents())[0]!.status).toBe('active');
    await restored.close();
    // The vault as it was before the restore (a newer counter than the backup's) is now older than the restore's state.
    for (const name of vaultFiles(v.dir)) rmSync(join(v.dir, name));
    for (const name of vaultFiles(newer)) cpSync(join(newer, name), join(v.dir, name));
    await expect(openVault({ dir: v.dir, keyFile: v.keyFile, configDir: v.configDir })).rejects.toBeInstanceOf(IntegrityError);
  });
});

describe('passwd over the signed header', () => {
  it('the new header is owner-signed (agents still verify it); a planted header is refused, not re-signed', async () => {
    const v = await setup();
    const newKey = join(v.root, 'new.key');
    await v.owner.changeUnlock({ keyFile: newKey });
    expect(await (await openVault({ dir: v.dir, token: v.token })).get('openai-api-key')).toBe('sk-openai-upkeep');
    const owner = await openVault({ dir: v.dir, keyFile: newKey, configDir: v.configDir });
    await expect(openVault({ dir: v.dir, keyFile: v.keyFile, configDir: v.configDir })).rejects.toMatchObject({ reason: 'wrong-unlock' });
    // A writer of the directory swaps in a header of its own (another owner key, valid layout).
    const planted = await createVault({ dir: join(v.root, 'planted'), keyFile: join(v.root, 'evil.key'), configDir: false });
    await planted.close();
    const genuine = (await v.backend.get(HEADER_KEY))!;
    await v.backend.set(HEADER_KEY, (await fileBackend({ dir: join(v.root, 'planted') }).get(HEADER_KEY))!);
    await expect(owner.changeUnlock({ keyFile: join(v.root, 'third.key') })).rejects.toBeInstanceOf(IntegrityError);
    expect(existsSync(join(v.root, 'third.key'))).toBe(false);
    await v.backend.set(HEADER_KEY, genuine);
    expect(await owner.get('anthropic-api-key')).toBe('sk-ant-upkeep');
  });
});
