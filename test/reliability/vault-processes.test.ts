/**
 * The vault across real processes and the real file backend: an owner in one process, agents
 * in others; concurrent owners; writers killed with SIGKILL at random points.
 */
import { execFile, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createVault, openVault } from '../../src/index.ts';
import { tempDir } from '../_fixtures/index.ts';

const worker = join(import.meta.dirname, '_vault-worker.ts');
const run = promisify(execFile);
const CANARY = 'sk-canary-b7c1e0d95a3f42';
const CANARY_NAME = 'canary-name-4e1f';

async function freshVault() {
  const root = tempDir('av-proc-');
  const dir = join(root, 'vault');
  const keyFile = join(root, 'owner.key');
  const owner = await createVault({ dir, keyFile, audit: false });
  return { root, dir, keyFile, owner };
}

function allBytesUnder(dir: string): Buffer {
  return Buffer.concat(
    readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => readFileSync(join(entry.parentPath, entry.name))),
  );
}

describe('vault across processes (file backend)', () => {
  it('an owner sets a secret; an agent in another process resolves it with its token', async () => {
    const { dir, owner } = await freshVault();
    await owner.set(CANARY_NAME, CANARY);
    await owner.set('other', 'not-for-the-agent');
    const { token } = await owner.createAgent('bot', { allow: ['canary-*'], ttl: '1h' });
    const env = { ...process.env, AGENT_VAULT_TOKEN: token };
    const { stdout } = await run(process.execPath, [worker, dir, 'resolve', CANARY_NAME], { env });
    expect(stdout.split('\n')).toEqual(['env-cleared', CANARY, '']);
    const denied = await run(process.execPath, [worker, dir, 'resolve', 'other'], { env }).catch((e) => e);
    expect(denied.stderr).toMatch(/AccessDeniedError: Agent "bot" is not granted "other"/);
    // Revocation holds for a fresh process, and across a restart of the owner.
    await (await openVault({ dir, keyFile: join(dir, '..', 'owner.key'), audit: false })).revokeAgent('bot');
    const revoked = await run(process.execPath, [worker, dir, 'resolve', CANARY_NAME], { env }).catch((e) => e);
    expect(revoked.stderr).toMatch(/was revoked/);
    expect(revoked.stdout).not.toContain(CANARY);
  });

  it('the canary value and its name appear in no byte under the vault directory', async () => {
    const { dir, owner } = await freshVault();
    await owner.set(CANARY_NAME, CANARY);
    await owner.createAgent('canary-agent-id', { allow: ['canary-*'] });
    await owner.set(CANARY_NAME, CANARY); // a second version, re-granted
    const bytes = allBytesUnder(dir);
    expect(bytes.length).toBeGreaterThan(500);
    // Needles long enough (>= 8 bytes) that random ciphertext cannot contain them by chance.
    for (const needle of [CANARY, CANARY_NAME, 'canary-*', 'canary-agent-id']) {
      expect(bytes.includes(needle), needle).toBe(false);
      expect(bytes.includes(Buffer.from(needle, 'utf16le')), `${needle} utf16`).toBe(false);
    }
  });

  it('two owner processes writing different secrets 200 times each lose no write', async () => {
    const { dir, keyFile } = await freshVault();
    await Promise.all(['a', 'b'].map((prefix) => run(process.execPath, [worker, dir, 'set-many', keyFile, prefix, '200'])));
    const names = (await (await openVault({ dir, keyFile, audit: false })).list()).map((s) => s.name);
    expect(names).toHaveLength(400);
    for (const prefix of ['a', 'b']) for (let i = 0; i < 200; i++) expect(names).toContain(`${prefix}-${i}`);
  }, 120_000);

  it('4 processes x 50 new versions of one secret end at exactly version 200', async () => {
    const { dir, keyFile } = await freshVault();
    await Promise.all([1, 2, 3, 4].map(() => run(process.execPath, [worker, dir, 'bump', keyFile, '50'])));
    const [shared] = await (await openVault({ dir, keyFile, audit: false })).list();
    expect(shared).toMatchObject({ name: 'shared', version: 200 });
  }, 120_000);
});

describe('crash safety', () => {
  const KILLS = Number(process.env.AGENT_VAULT_CRASH_RUNS ?? 300);

  it(`a writer killed with SIGKILL at random points, ${KILLS} times: old or new state, never torn`, async () => {
    const { dir, keyFile, owner } = await freshVault();
    for (let i = 0; i < 3; i++) await owner.set(`churn-${i}`, `${i}:${String(i).repeat(200)}`);
    const { token } = await owner.createAgent('reader', { allow: ['churn-*'] });
    const reader = await openVault({ dir, token, audit: false });
    let lastSeen = [-1, -1, -1];
    for (let kill = 0; kill < KILLS; kill++) {
      const child = spawn(process.execPath, [worker, dir, 'churn', keyFile], { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 25));
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
      // Both roles read every secret; each value is whole and one the writer wrote.
      for (let i = 0; i < 3; i++) {
        const [ownerValue, agentValue] = [await owner.get(`churn-${i}`), await reader.get(`churn-${i}`)];
        expect(agentValue).toBe(ownerValue);
        const [counter, body] = ownerValue.split(':') as [string, string];
        expect(body).toBe(counter.repeat(200));
        expect(Number(counter) % 3).toBe(i);
        lastSeen[i] = Number(counter);
      }
    }
    lastSeen = lastSeen.filter((n) => n >= 0);
    expect(lastSeen).toHaveLength(3);
    await owner.list(); // any operation cleans up after the dead writers
    await (await openVault({ dir, keyFile, audit: false })).list();
    expect(readdirSync(dir).filter((name) => name.startsWith('.tmp-'))).toEqual([]);
  }, 900_000); // 300 kills take about 2 minutes on a quiet 2-core machine, 4–5 on a busy one
});
