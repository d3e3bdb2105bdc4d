/**
 * Issue 13, attack 7 and the lock half of 8: an agent that can write the vault directory puts
 * something hostile in the place of a vault file. A secret entry replaced by a symlink to
 * /dev/zero, a FIFO or a 1.5 GB sparse file; a FIFO at the lock's path; `audit.jsonl` as a
 * dangling symlink; lock files forged to hold a lock forever. Each fails with a typed error
 * instead of hanging or reading gigabytes, and the owner's data is intact once the file is put
 * back. The tests assert the outcome and give the calls a generous limit, never a speed.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, ftruncateSync, openSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fileBackend } from '../../src/backends/file.ts';
import { createVault, openVault, type Vault, VaultError } from '../../src/index.ts';
import { FAST_KDF, settle, tempDir } from '../_fixtures/index.ts';

const VALUE = 'sk-hostile-entry-0123456789abcdef';

async function fileVault() {
  const dir = tempDir('av-hostile-entry-');
  const owner = await createVault({ dir, passphrase: 'pw', passphraseParams: FAST_KDF });
  await owner.set('openai-api-key', VALUE);
  const { token } = await owner.createAgent('bot', { allow: ['openai-*'] });
  const agent = await openVault({ dir, token });
  expect(await agent.get('openai-api-key')).toBe(VALUE); // cached by the backend from here on
  return { dir, owner, agent, token, secretEntry: entryHolding(dir, 's/') };
}

/** The entry file whose backend key starts with `prefix` (the key is stored inside: _file-entry.ts). */
function entryHolding(dir: string, prefix: string): string {
  for (const name of readdirSync(dir).filter((n) => /^[0-9a-f]{64}$/.test(n))) {
    const bytes = readFileSync(join(dir, name));
    const key = bytes.toString('utf8', 10, 10 + bytes.readUInt16BE(4));
    if (key.startsWith(prefix)) return join(dir, name);
  }
  throw new Error(`no entry for ${prefix}`);
}

/** Put `plant` in the entry's place, run `attack` for owner and agent, then put the entry back. */
async function withPlanted(
  { owner, agent, secretEntry }: { owner: Vault; agent: Vault; secretEntry: string },
  plant: (path: string) => void,
  expected: RegExp,
): Promise<void> {
  const aside = `${secretEntry}.aside`;
  renameSync(secretEntry, aside);
  plant(secretEntry);
  for (const vault of [agent, owner]) {
    const outcome = await settle(() => vault.get('openai-api-key'));
    expect(outcome).toBeInstanceOf(VaultError);
    expect(outcome).toMatchObject({ code: 'BACKEND', message: expect.stringMatching(expected) });
    expect((outcome as Error).message).not.toContain(VALUE);
  }
  rmSync(secretEntry);
  renameSync(aside, secretEntry);
  expect(await agent.get('openai-api-key')).toBe(VALUE);
  expect(await owner.get('openai-api-key')).toBe(VALUE);
}

describe('a hostile file in the place of a secret entry', () => {
  it('a symlink to /dev/zero is refused (never followed), for the owner and an agent with the value cached', async () => {
    const vault = await fileVault();
    await withPlanted(vault, (path) => symlinkSync('/dev/zero', path), /ELOOP: it is a symbolic link/);
  });

  it('a FIFO is refused without blocking on its open', async () => {
    const vault = await fileVault();
    await withPlanted(vault, (path) => execFileSync('mkfifo', [path]), /ENOTFILE: .* is a FIFO/);
  });

  it('a 1.5 GB sparse entry is refused by its size, before a byte of it is read', async () => {
    const vault = await fileVault();
    const before = process.memoryUsage.rss();
    await withPlanted(vault, (path) => {
      const fd = openSync(path, 'w', 0o600);
      ftruncateSync(fd, 1.5 * 1024 ** 3);
      closeSync(fd);
    }, /EFBIG: .* 1610612736 bytes/);
    // Reading it whole would have cost 1.5 GB; refusing it costs nothing to speak of.
    expect((process.memoryUsage.rss() - before) / 1024 ** 2).toBeLessThan(256);
  });

  it('a symlink to another vault file (a real entry) is refused too: no file is read through a link', async () => {
    const vault = await fileVault();
    const other = entryHolding(vault.dir, 'header');
    await withPlanted(vault, (path) => symlinkSync(other, path), /ELOOP/);
  });
});

describe('hostile lock files', () => {
  it("a FIFO at the vault lock's path fails the owner's next write fast with a BackendError", async () => {
    const { dir, owner } = await fileVault();
    execFileSync('mkfifo', [join(dir, '.lock')]);
    const outcome = await settle(() => owner.set('openai-api-key', 'sk-new-value-0123456789'));
    expect(outcome).toMatchObject({ code: 'BACKEND', message: expect.stringMatching(/\.lock .*ENOTFILE/) });
    rmSync(join(dir, '.lock'));
    expect(await owner.get('openai-api-key')).toBe(VALUE);
  });

  it("a FIFO or a /dev/zero symlink at the audit lock's path fails the agent's read with an AuditError, releasing nothing", async () => {
    const { dir, agent } = await fileVault();
    const lock = join(dir, 'audit.jsonl.lock');
    for (const plant of [() => execFileSync('mkfifo', [lock]), () => symlinkSync('/dev/zero', lock)]) {
      // The agent keeps its lock until this turn of the event loop ends (src/audit/_append-lock.ts):
      // plant once it has let go, so the next append has to take the lock through what is planted.
      await new Promise((resolve) => setImmediate(resolve));
      plant();
      const outcome = await settle(() => agent.get('openai-api-key'));
      expect(outcome).toMatchObject({ code: 'AUDIT' });
      rmSync(lock);
    }
    expect(await agent.get('openai-api-key')).toBe(VALUE);
  });

  it('a lock dated far in the future (touch -d 2099) by a live pid does not hold the lock forever', async () => {
    const dir = tempDir('av-hostile-lock-');
    const backend = fileBackend({ dir, staleLockMs: 1_000, lockTimeoutMs: 10_000 });
    await backend.set('k', new Uint8Array([1]));
    const lock = join(dir, '.lock');
    writeFileSync(lock, JSON.stringify({ pid: process.pid, hostname: hostname(), createdAt: Date.now(), token: 'ab' }));
    const future = new Date('2099-01-01T00:00:00Z');
    utimesSync(lock, future, future);
    expect(await settle(() => backend.withLock(async () => 'ran'))).toEqual({ resolved: 'ran' });
  });

  it('a lock naming pid -1 or 0 (which kill() reads as "every process") counts as naming nobody', async () => {
    const dir = tempDir('av-hostile-lock-');
    // Far below the forged holder's own lifetime (the default 60 s): only the "names nobody" rule can free it.
    const backend = fileBackend({ dir, lockTimeoutMs: 10_000 });
    await backend.set('k', new Uint8Array([1]));
    for (const pid of [-1, 0]) {
      writeFileSync(join(dir, '.lock'), JSON.stringify({ pid, hostname: hostname(), createdAt: Date.now(), token: 'ab' }));
      expect(await settle(() => backend.withLock(async () => 'ran'))).toEqual({ resolved: 'ran' });
    }
  });
});

describe('a dangling symlink in place of audit.jsonl', () => {
  it('is refused by every writer: nothing is created outside the vault, nothing is released', async () => {
    const { dir, owner, agent } = await fileVault();
    const outside = join(tempDir('av-outside-'), 'planted.jsonl');
    const log = join(dir, 'audit.jsonl');
    renameSync(log, `${log}.aside`);
    symlinkSync(outside, log);
    for (const call of [() => agent.get('openai-api-key'), () => owner.set('other', 'v'), () => owner.verifyAudit()]) {
      const outcome = await settle(call);
      expect(outcome).toMatchObject({ code: 'AUDIT' });
    }
    expect(existsSync(outside)).toBe(false);
    rmSync(log);
    renameSync(`${log}.aside`, log);
    expect(await agent.get('openai-api-key')).toBe(VALUE);
    expect((await owner.verifyAudit()).ok).toBe(true);
  });
});

describe('a hostile file at AGENT_VAULT_TOKEN_FILE', () => {
  afterEach(() => {
    delete process.env.AGENT_VAULT_TOKEN_FILE;
  });

  // The token file is read synchronously (src/_files.ts): a read that blocked would stop the whole
  // process, not one thread-pool thread, so each of these must fail at once, before a byte is read.
  it('a FIFO, a device, a directory or a huge sparse file is refused with a UsageError, never read', async () => {
    const { dir, token } = await fileVault();
    const root = tempDir('av-hostile-token-');
    const plants: [string, (path: string) => void, RegExp][] = [
      ['fifo', (path) => execFileSync('mkfifo', ['-m', '600', path]), /is a FIFO/],
      ['zero', (path) => symlinkSync('/dev/zero', path), /is a character device/],
      ['dir', (path) => execFileSync('mkdir', ['-m', '700', path]), /is a directory/],
      ['huge', (path) => {
        const fd = openSync(path, 'w', 0o600);
        ftruncateSync(fd, 1.5 * 1024 ** 3);
        closeSync(fd);
      }, /1610612736 bytes, far more than a token/],
    ];
    for (const [name, plant, expected] of plants) {
      const path = join(root, name);
      plant(path);
      process.env.AGENT_VAULT_TOKEN_FILE = path;
      const outcome = await settle(() => openVault({ dir }));
      expect(outcome).toMatchObject({ code: 'USAGE', message: expect.stringMatching(expected) });
    }
    // The same file, once it holds the token, opens the vault.
    const path = join(root, 'token');
    writeFileSync(path, `${token}\n`, { mode: 0o600 });
    process.env.AGENT_VAULT_TOKEN_FILE = path;
    expect(await (await openVault({ dir })).get('openai-api-key')).toBe(VALUE);
  });
});
