/**
 * Issue 13's attacks by an agent that holds its token and can write the vault directory (the
 * same OS user as the owner), each performed through the public API and the files, each now
 * refused with a typed error, with the owner's data left as it was. The attacker's tools are in
 * _attacker.ts: everything an agent holds, nothing of the owner's.
 */
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileBackend } from '../../src/backends/file.ts';
import { createVault, IntegrityError, openVault, UsageError } from '../../src/index.ts';
import { agentLocV1 } from '../../src/_keys.ts';
import { bytesToHex } from '../../src/_bytes.ts';
import { tempDir } from '../_fixtures/index.ts';
import { attacker } from './_attacker.ts';

const HOUR = 3_600_000;

/** A file vault: the owner, a secret granted to `bot`, one it is not granted, and the bot. */
async function setup(now: () => number = Date.now) {
  const root = tempDir('av-signed-');
  const dir = join(root, 'vault');
  const keyFile = join(root, 'owner.key');
  const owner = await createVault({ dir, keyFile, now });
  await owner.set('openai-api-key', 'sk-real');
  await owner.set('prod-db', 'postgres://never-for-bot');
  const { token } = await owner.createAgent('bot', { allow: ['openai-*'], ttl: '1h' });
  const bot = await openVault({ dir, token, now });
  const backend = fileBackend({ dir });
  return { root, dir, keyFile, owner, token, bot, backend, evil: attacker(token, backend), now };
}

describe('1. expiry is not a suggestion', () => {
  it('a policy re-sealed with a later expiry is refused, and agent list does not show the forged date', async () => {
    let clock = Date.now();
    const v = await setup(() => clock);
    expect(await v.bot.get('openai-api-key')).toBe('sk-real');
    await v.evil.rewriteOwnPolicy({ expiresAt: clock + 3650 * 24 * HOUR });
    clock += 2 * HOUR;
    await expect(v.bot.get('openai-api-key')).rejects.toBeInstanceOf(IntegrityError);
    const fresh = await openVault({ dir: v.dir, token: v.token, now: () => clock });
    await expect(fresh.get('openai-api-key')).rejects.toBeInstanceOf(IntegrityError);
    await expect(v.owner.listAgents()).rejects.toBeInstanceOf(IntegrityError);
    // The owner's values are untouched; removing the planted file restores every owner command.
    expect(await v.owner.get('openai-api-key')).toBe('sk-real');
    await v.backend.delete(v.evil.ownKey);
    expect(await v.owner.listAgents()).toEqual([]);
  });

  it('an expiry beyond what a Date holds is refused when asked for, and never crashes agent list', async () => {
    const v = await setup();
    for (const ttl of [8.64e15, Number.MAX_SAFE_INTEGER, '999999999w']) {
      await expect(v.owner.createAgent('far', { allow: ['x'], ttl })).rejects.toBeInstanceOf(UsageError);
    }
    await v.evil.rewriteOwnPolicy({ expiresAt: 1e17 });
    const error = await v.owner.listAgents().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IntegrityError);
    expect(String(error)).not.toMatch(/Invalid time value/);
  });
});

describe('2. no scope escalation through the owner', () => {
  const operations = {
    'set of another secret': (v: Awaited<ReturnType<typeof setup>>) => v.owner.set('openai-other', 'sk-2'),
    createAgent: (v: Awaited<ReturnType<typeof setup>>) => v.owner.createAgent('newcomer', { allow: ['openai-*'] }),
    'revokeAgent of someone else': async (v: Awaited<ReturnType<typeof setup>>) => v.owner.revokeAgent('bystander'),
    'rotateAgent of this agent': (v: Awaited<ReturnType<typeof setup>>) => v.owner.rotateAgent('bot'),
  };
  for (const [what, operation] of Object.entries(operations)) {
    it(`forged patterns ['*'], then the owner's ${what}: refused, nothing granted`, async () => {
      const v = await setup();
      await v.owner.createAgent('bystander', { allow: ['openai-*'] });
      const genuine = (await v.backend.get(v.evil.ownKey))!;
      const secretKeys = await v.backend.list('s/');
      const before = await Promise.all(secretKeys.map((key) => v.backend.get(key)));
      await v.evil.rewriteOwnPolicy({ allow: ['*'] });
      await expect(operation(v)).rejects.toBeInstanceOf(IntegrityError);
      // No secret record was rewritten, so no grant of prod-db exists for anyone.
      expect(await Promise.all(secretKeys.map((key) => v.backend.get(key)))).toEqual(before);
      await v.backend.set(v.evil.ownKey, genuine);
      await expect(v.bot.get('prod-db')).rejects.toMatchObject({ code: 'ACCESS_DENIED', reason: 'not-granted' });
      expect((await v.owner.list()).find((s) => s.name === 'prod-db')!.agents).toEqual([]);
    });
  }
});

describe('3. revocation is not undone', () => {
  it("a revoked agent's older genuine record put back: the owner refuses it and the revoked token reads nothing new", async () => {
    const v = await setup();
    const active = (await v.backend.get(v.evil.ownKey))!;
    await v.owner.revokeAgent('bot');
    await v.backend.set(v.evil.ownKey, active);
    await expect(v.owner.set('openai-api-key', 'sk-new')).rejects.toBeInstanceOf(IntegrityError);
    await expect(v.bot.get('openai-api-key')).rejects.toBeInstanceOf(IntegrityError);
    const fresh = await openVault({ dir: v.dir, token: v.token });
    await expect(fresh.get('openai-api-key')).rejects.toBeInstanceOf(IntegrityError);
    expect(await v.owner.get('openai-api-key')).toBe('sk-real');
  });

  it('a stolen pre-rotation token with its old record put back reads nothing', async () => {
    const v = await setup();
    const before = (await v.backend.get(v.evil.ownKey))!;
    const { token: rotated } = await v.owner.rotateAgent('bot');
    await v.owner.set('openai-api-key', 'sk-after-rotation');
    await v.backend.set(v.evil.ownKey, before);
    const stolen = await openVault({ dir: v.dir, token: v.token });
    await expect(stolen.get('openai-api-key')).rejects.toBeInstanceOf(IntegrityError);
    await expect(v.owner.list()).rejects.toBeInstanceOf(IntegrityError);
    expect(rotated).not.toBe(v.token);
  });

  it('a deleted agent record, then the owner re-creates the id: a new generation and key, never the old token', async () => {
    const v = await setup();
    await v.owner.revokeAgent('bot');
    await v.backend.delete(v.evil.ownKey);
    const { token, agent } = await v.owner.createAgent('bot', { allow: ['openai-*'] });
    expect(token).not.toBe(v.token);
    expect(agent.generation).toBe(3);
    await expect((await openVault({ dir: v.dir, token: v.token })).get('openai-api-key')).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
    expect(await (await openVault({ dir: v.dir, token })).get('openai-api-key')).toBe('sk-real');
  });
});

describe('4. values are not forged for everyone', () => {
  for (const signature of ['kept', 'own'] as const) {
    it(`a value re-sealed under a granted data key (signature ${signature}) is refused by the owner and every agent`, async () => {
      const v = await setup();
      const { token: otherToken } = await v.owner.createAgent('other', { allow: ['openai-*'] });
      const other = await openVault({ dir: v.dir, token: otherToken });
      const [record] = (await v.owner.list()).filter((s) => s.name === 'openai-api-key');
      expect(record!.agents).toEqual(['bot', 'other']);
      const nameId = await (async () => {
        for (const k of await v.backend.list('s/')) {
          try {
            await v.evil.resealValue(k.slice(2), new TextEncoder().encode('sk-attacker'), signature);
            return k.slice(2);
          } catch {
            // not one of bot's grants
          }
        }
        throw new Error('no granted record found');
      })();
      for (const read of [() => v.owner.get('openai-api-key'), () => other.get('openai-api-key'), () => v.owner.list()]) {
        await expect(read()).rejects.toBeInstanceOf(IntegrityError);
      }
      expect(nameId).toMatch(/^[0-9a-f]{32}$/);
    });
  }
});

describe('nothing comes back: a rolled-back state', () => {
  it('the owner refuses a vault directory restored to an older copy, also in a new process run', async () => {
    const v = await setup();
    const copy = join(v.root, 'copy');
    cpSync(v.dir, copy, { recursive: true });
    await v.owner.revokeAgent('bot');
    rmSync(v.dir, { recursive: true });
    cpSync(copy, v.dir, { recursive: true });
    await expect(v.owner.set('x', 'y')).rejects.toBeInstanceOf(IntegrityError);
    // A new owner process reads the newest state it saw from its config directory.
    await expect(openVault({ dir: v.dir, keyFile: v.keyFile })).rejects.toBeInstanceOf(IntegrityError);
  });

  it('only the state file rolled back (records newer than it) is refused by the owner', async () => {
    const v = await setup();
    const stateFile = (await readdirEntries(v.dir)).find((name) => readFileSync(join(v.dir, name)).includes(Buffer.from('AVT2')))!;
    const oldState = readFileSync(join(v.dir, stateFile));
    await v.owner.set('openai-api-key', 'sk-v2');
    writeFileSync(join(v.dir, stateFile), oldState);
    await expect(v.owner.list()).rejects.toBeInstanceOf(IntegrityError);
  });

  it('a running agent refuses an older copy of the directory once it saw a newer state', async () => {
    const v = await setup();
    const copy = join(v.root, 'copy');
    cpSync(v.dir, copy, { recursive: true });
    await v.owner.set('openai-api-key', 'sk-v2');
    expect(await v.bot.get('openai-api-key')).toBe('sk-v2');
    for (const name of await readdirEntries(copy)) writeFileSync(join(v.dir, name), readFileSync(join(copy, name)));
    await expect(v.bot.get('openai-api-key')).rejects.toBeInstanceOf(IntegrityError);
  });
});

describe('a running agent and the records it has cached', () => {
  it('a superseded value put back, byte for byte what the agent last read, is refused', async () => {
    const v = await setup();
    expect(await v.bot.get('openai-api-key')).toBe('sk-real');
    const keys = await v.backend.list('s/');
    const before = await Promise.all(keys.map((key) => v.backend.get(key)));
    await v.owner.set('openai-api-key', 'sk-rotated-after-a-leak');
    for (const [i, key] of keys.entries()) await v.backend.set(key, before[i]!);
    await expect(v.bot.get('openai-api-key')).rejects.toBeInstanceOf(IntegrityError);
    await expect(v.owner.get('openai-api-key')).rejects.toBeInstanceOf(IntegrityError);
  });
});

describe('versions never wrap', () => {
  it('2^32 − 1 + 1 is refused with a clear error, and the stored version is kept', async () => {
    const { nextCounter } = await import('../../src/_records.ts');
    expect(nextCounter(41, 'version')).toBe(42);
    expect(() => nextCounter(0xffff_ffff, 'version of secret "k"')).toThrow(UsageError);
    expect(() => nextCounter(0xffff_ffff, 'version of secret "k"')).toThrow(/limit \(4294967295\).*Delete it/);
  });

  it('a genuine record at version 2^32 − 1: the next set is refused and the record kept', async () => {
    const v = await setup();
    // Only the owner can sign, so the test plays the owner with its key file to write such a record.
    const { readKeyFile } = await import('../../src/_files.ts');
    const { decodeHeader, openRootKey } = await import('../../src/_header.ts');
    const { nameId, nameKey, ownerKey } = await import('../../src/_keys.ts');
    const { ad, encodeSecret } = await import('../../src/_records.ts');
    const { ownerSigner } = await import('../../src/_signed.ts');
    const { randomBytes, seal } = await import('../../src/crypto.ts');
    const header = decodeHeader((await v.backend.get('header'))!);
    const root = openRootKey(header, await readKeyFile(v.keyFile));
    const id = nameId(nameKey(root), 'openai-api-key');
    const dek = randomBytes(32);
    const version = 0xffff_ffff;
    const bytes = encodeSecret({
      vaultId: header.vaultId, nameId: id, seq: 1e9, version, createdAt: 1, updatedAt: 1,
      sealedName: seal(ownerKey(root), new TextEncoder().encode('openai-api-key'), ad.name(header.vaultId, id)),
      ownerWrap: seal(ownerKey(root), dek, ad.ownerWrap(header.vaultId, id, version)), grants: [], dek,
      value: new TextEncoder().encode('sk-max'),
    }, ownerSigner(root));
    await v.backend.set(`s/${id}`, bytes);
    expect(await v.owner.get('openai-api-key')).toBe('sk-max');
    await expect(v.owner.set('openai-api-key', 'sk-wrapped')).rejects.toThrow(/version of secret "openai-api-key" is at its limit/);
    expect(await v.backend.get(`s/${id}`)).toEqual(bytes);
  });
});

describe('metadata', () => {
  it('agent records live at keyed locations, and an agent is given only the names it was granted', async () => {
    const v = await setup();
    const vaultId = Buffer.from(v.owner.id, 'hex');
    const keys = await v.backend.list('a/');
    expect(keys).toEqual([v.evil.ownKey]);
    // The unkeyed hash of format 1 would let a dictionary of ids confirm "bot": it is not used.
    expect(keys).not.toContain(`a/${bytesToHex(agentLocV1(vaultId, 'bot'))}`);
    const policy = await v.evil.ownPolicy();
    expect(Object.keys(policy.names)).toEqual(['openai-api-key']);
    expect(JSON.stringify(policy)).not.toMatch(/nameKey|prod-db/);
  });
});

async function readdirEntries(dir: string): Promise<string[]> {
  const { readdirSync } = await import('node:fs');
  return readdirSync(dir).filter((name) => /^[0-9a-f]{64}$/.test(name));
}

describe('the header and the audit log', () => {
  it('a header re-signed by another key (another owner) is refused by the agent and the owner', async () => {
    const v = await setup();
    const header = JSON.parse(new TextDecoder().decode((await v.backend.get('header'))!));
    const { ownerSigner } = await import('../../src/_signed.ts');
    const { randomBytes, toBase64Url } = await import('../../src/crypto.ts');
    const forged = { ...header, ownerKey: toBase64Url(ownerSigner(randomBytes(32)).publicKey) };
    await v.backend.set('header', new TextEncoder().encode(`${JSON.stringify(forged, null, 2)}\n`));
    await expect(openVault({ dir: v.dir, token: v.token })).rejects.toBeInstanceOf(IntegrityError);
    await expect(openVault({ dir: v.dir, keyFile: v.keyFile })).rejects.toBeInstanceOf(IntegrityError);
  });

  it("records an agent cuts from before the owner's last operation are reported by verifyAudit", async () => {
    const v = await setup();
    expect(await v.bot.get('openai-api-key')).toBe('sk-real');
    await v.owner.set('later', 'anchors the head, which is the agent\'s read');
    const log = join(v.dir, 'audit.jsonl');
    const lines = readFileSync(log, 'utf8').split('\n').filter(Boolean);
    const read = lines.findIndex((line) => line.includes('"actor":"agent:bot"'));
    writeFileSync(log, lines.slice(0, read).map((line) => `${line}\n`).join(''));
    expect(await v.owner.verifyAudit()).toMatchObject({ ok: false, problem: { kind: 'truncated', seq: read + 1 } });
  });
});
