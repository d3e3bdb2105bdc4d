/**
 * A running agent keeps the state and records it verified while the backend's revision of each
 * is unchanged (src/_state.ts, Backend.revision), so an unchanged file costs one lstat and no
 * signature check. These attacks are made where that cache is warm (files older than the file
 * backend's one-second racy window, and the agent shown to be reading nothing but revisions), by
 * a writer of the vault directory who puts an older genuine record back IN PLACE (same inode,
 * same size) and restores its mtime with utimes: each must be noticed at the very next request.
 */
import { createHash } from 'node:crypto';
import { chmodSync, closeSync, openSync, readdirSync, readFileSync, statSync, utimesSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileBackend } from '../../src/backends/file.ts';
import { type Backend, createVault, IntegrityError, openVault } from '../../src/index.ts';
import { tempDir } from '../_fixtures/index.ts';

const pathOf = (dir: string, key: string) => join(dir, createHash('sha256').update(key, 'utf8').digest('hex'));

/**
 * Overwrite a file's bytes without replacing it (same inode), then put its old mtime back,
 * exactly to the nanosecond (see wholeSecondTimes), so (ino, size, mtime) all say "unchanged".
 */
function rewriteInPlace(path: string, bytes: Uint8Array): void {
  const before = statSync(path, { bigint: true });
  expect(BigInt(bytes.length)).toBe(before.size);
  const fd = openSync(path, 'r+');
  try {
    writeSync(fd, bytes, 0, bytes.length, 0);
  } finally {
    closeSync(fd);
  }
  utimesSync(path, Number(before.atimeNs / 1_000_000_000n), Number(before.mtimeNs / 1_000_000_000n));
  const after = statSync(path, { bigint: true });
  expect([after.ino, after.size, after.mtimeNs]).toEqual([before.ino, before.size, before.mtimeNs]);
  expect(after.ctimeNs).not.toBe(before.ctimeNs);
}

/**
 * Give every file of the vault whole-second times, so an attacker's utimes can restore them
 * exactly (utimes from JavaScript takes seconds as a double, which cannot carry every nanosecond;
 * touch or utimensat from C can).
 */
function wholeSecondTimes(dir: string): void {
  const seconds = Math.floor(Date.now() / 1_000) - 60;
  for (const name of readdirSync(dir)) if (/^[0-9a-f]{64}$/.test(name)) utimesSync(join(dir, name), seconds, seconds);
}

/** The file backend, counting `get`s, so a test can show the agent was serving from its cache. */
function counting(dir: string): { backend: Backend; gets: () => number } {
  const inner = fileBackend({ dir });
  let gets = 0;
  const backend: Backend = {
    ...inner,
    get(key) {
      gets++;
      return inner.get(key);
    },
  };
  return { backend, gets: () => gets };
}

/** Past the file backend's racy window: only then does it give revisions (RACY_WINDOW_MS). */
const settle = () => new Promise((resolve) => setTimeout(resolve, 1_100));

async function setup() {
  const root = tempDir('av-cached-');
  const dir = join(root, 'vault');
  const owner = await createVault({ dir, keyFile: join(root, 'key'), audit: false });
  await owner.set('api-key', 'old-value');
  const { token } = await owner.createAgent('bot', { allow: ['*'] });
  const files = fileBackend({ dir });
  const [secretKey] = await files.list('s/');
  const [agentKey] = await files.list('a/');
  const snapshot = (key: string) => readFileSync(pathOf(dir, key));
  const old = { secret: snapshot(secretKey!), agent: snapshot(agentKey!), state: snapshot('state') };
  return { dir, owner, token, secretKey: secretKey!, agentKey: agentKey!, old };
}

/** An agent whose cache is warm: files settled, and a resolution that read no record at all. */
async function warmAgent(dir: string, token: string) {
  wholeSecondTimes(dir);
  await settle();
  const { backend, gets } = counting(dir);
  const agent = await openVault({ backend, token, audit: false });
  await agent.get('api-key');
  const before = gets();
  const value = await agent.get('api-key');
  expect(gets()).toBe(before);
  return { agent, value, gets };
}

describe('a warm cache still notices every change to the files', () => {
  it('an older secret record written back in place, mtime restored: refused as a replay', async () => {
    const v = await setup();
    await v.owner.set('api-key', 'new-value'); // same length: the old record has the same size
    const { agent, value } = await warmAgent(v.dir, v.token);
    expect(value).toBe('new-value');
    rewriteInPlace(pathOf(v.dir, v.secretKey), v.old.secret);
    await settle(); // the attacker may wait until the changed file looks settled too
    await expect(agent.get('api-key')).rejects.toBeInstanceOf(IntegrityError);
  });

  it('an older state written back in place, mtime restored: refused as a rollback', async () => {
    const v = await setup();
    await v.owner.set('api-key', 'old-value'); // a new state of the same size (same entries)
    const { agent } = await warmAgent(v.dir, v.token);
    rewriteInPlace(pathOf(v.dir, 'state'), v.old.state);
    await settle();
    await expect(agent.get('api-key')).rejects.toBeInstanceOf(IntegrityError);
  });

  it('the genuine bytes written back over themselves, mtime restored: read and checked again, still served', async () => {
    const v = await setup();
    const { agent, gets } = await warmAgent(v.dir, v.token);
    const path = pathOf(v.dir, v.secretKey);
    rewriteInPlace(path, readFileSync(path));
    await settle();
    const before = gets();
    expect(await agent.get('api-key')).toBe('old-value');
    expect(gets()).toBeGreaterThan(before);
  });

  it('a chmod alone (ctime moves, content the same) makes the next request read again', async () => {
    const v = await setup();
    const { agent, gets } = await warmAgent(v.dir, v.token);
    chmodSync(pathOf(v.dir, v.agentKey), 0o600);
    await settle();
    const before = gets();
    expect(await agent.get('api-key')).toBe('old-value');
    expect(gets()).toBeGreaterThan(before);
  });

  it('revocation and a rotated secret show at the next request of a warm agent', async () => {
    const v = await setup();
    const { agent } = await warmAgent(v.dir, v.token);
    await v.owner.set('api-key', 'rotated');
    expect(await agent.get('api-key')).toBe('rotated');
    await v.owner.revokeAgent('bot');
    await expect(agent.get('api-key')).rejects.toMatchObject({ reason: 'revoked' });
  });

  it("the agent's record from before a rotation written back in place, mtime restored: refused", async () => {
    const v = await setup();
    const { token } = await v.owner.rotateAgent('bot'); // same policy, next generation: same size
    const { agent, value } = await warmAgent(v.dir, token);
    expect(value).toBe('old-value');
    rewriteInPlace(pathOf(v.dir, v.agentKey), v.old.agent);
    await settle();
    await expect(agent.get('api-key')).rejects.toBeInstanceOf(IntegrityError);
  });
});
