/**
 * Issue 13, attack 6: a `.agent-vault` planted higher up than the user's own (owned by another
 * user, or mode 0777) used to win discovery, so an agent read the attacker's key and wrote its
 * audit there. Now such a directory is refused with an error naming it and every path looked at
 * (discovery and a directory named explicitly alike, as OpenSSH's StrictModes does), and the walk
 * up stops at the home directory. The tests run as root too: "another user" is made with chown.
 */
import { chmodSync, chownSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { discoverVaultDir } from '../../src/backends/file.ts';
import { createVault, openVault } from '../../src/index.ts';
import { FAST_KDF, tempDir } from '../_fixtures/index.ts';
import { runCli } from '../cli/_cli.ts';

const OTHER_UID = 65534; // nobody
const isRoot = process.getuid?.() === 0;

/** home/project/src, with home and project ours and private. */
function tree() {
  const root = tempDir('av-planted-');
  const home = join(root, 'home');
  const project = join(home, 'project');
  const cwd = join(project, 'src');
  mkdirSync(cwd, { recursive: true, mode: 0o700 });
  return { root, home, project, cwd };
}

function plant(dir: string, mode = 0o700, uid?: number): void {
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, mode);
  if (uid !== undefined) chownSync(dir, uid, uid);
}

describe('discovery', () => {
  it('refuses a world-writable .agent-vault on the way up, naming it and every path looked at', () => {
    const { home, project, cwd } = tree();
    plant(join(project, '.agent-vault'), 0o777);
    mkdirSync(join(home, '.agent-vault'), { mode: 0o700 }); // the user's own, further up
    const error = (() => {
      try {
        discoverVaultDir({ cwd, home, env: {} });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toMatchObject({ code: 'BACKEND' });
    const message = (error as Error).message;
    expect(message).toContain(join(project, '.agent-vault'));
    expect(message).toMatch(/writable by every user \(mode 777\)/);
    expect(message).toContain(`Looked at: ${join(cwd, '.agent-vault')}, ${join(project, '.agent-vault')}`);
  });

  // Only root can make a directory another user owns.
  it.runIf(isRoot)('refuses a .agent-vault owned by another user (chown as root)', () => {
    const { project, cwd, home } = tree();
    plant(join(project, '.agent-vault'), 0o700, OTHER_UID);
    expect(() => discoverVaultDir({ cwd, home, env: {} })).toThrow(/owned by uid 65534/);
  });

  it('refuses a .agent-vault whose parent anyone can write (it could be swapped), unless that parent is sticky', () => {
    const { project, cwd, home } = tree();
    plant(join(project, '.agent-vault'));
    chmodSync(project, 0o777);
    expect(() => discoverVaultDir({ cwd, home, env: {} })).toThrow(/its parent .*project is writable by every user/);
    chmodSync(project, 0o1777); // like /tmp: nobody can rename another's entry
    expect(discoverVaultDir({ cwd, home, env: {} }).dir).toBe(join(project, '.agent-vault'));
  });

  it('stops at the home directory: a .agent-vault above it is never used', () => {
    const { root, home, cwd } = tree();
    plant(join(root, '.agent-vault'));
    const found = discoverVaultDir({ cwd, home, env: {} });
    expect(found.dir).toBe(join(home, '.agent-vault'));
    expect(found.searched).not.toContain(join(root, '.agent-vault'));
  });

  it('through the CLI: `agent-vault list` in a tree with a planted vault fails and says why', async () => {
    const { home, project, cwd } = tree();
    plant(join(project, '.agent-vault'), 0o777);
    const result = await runCli(['list'], { cwd, env: { HOME: home, AGENT_VAULT_PASSPHRASE: 'pw' } });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(join(project, '.agent-vault'));
    expect(result.stderr).toMatch(/writable by every user/);
  });
});

describe('a vault directory named explicitly', () => {
  it('is refused when world- or group-writable, for the owner and for an agent, and nothing is read from it', async () => {
    const dir = join(tempDir('av-planted-'), 'vault');
    const owner = await createVault({ dir, passphrase: 'pw', passphraseParams: FAST_KDF });
    await owner.set('openai-api-key', 'sk-planted-0123456789');
    const { token } = await owner.createAgent('bot', { allow: ['openai-*'] });
    await owner.close();
    for (const mode of [0o777, 0o770]) {
      chmodSync(dir, mode);
      await expect(openVault({ dir, token })).rejects.toMatchObject({ code: 'BACKEND', message: expect.stringMatching(/Refusing the vault directory/) });
      await expect(openVault({ dir, passphrase: 'pw' })).rejects.toMatchObject({ code: 'BACKEND' });
    }
    chmodSync(dir, 0o700);
    expect(await (await openVault({ dir, token })).get('openai-api-key')).toBe('sk-planted-0123456789');
  });

  it('a file in it owned by another user, or writable by others, is refused', async () => {
    const dir = join(tempDir('av-planted-'), 'vault');
    const owner = await createVault({ dir, passphrase: 'pw', passphraseParams: FAST_KDF });
    await owner.set('openai-api-key', 'sk-planted-0123456789');
    const { token } = await owner.createAgent('bot', { allow: ['openai-*'] });
    const entries = readdirSync(dir).filter((n) => /^[0-9a-f]{64}$/.test(n)).map((n) => join(dir, n));
    for (const entry of entries) chmodSync(entry, 0o666);
    await expect(openVault({ dir, token })).rejects.toMatchObject({ code: 'BACKEND', message: expect.stringMatching(/EUNSAFE/) });
    for (const entry of entries) chmodSync(entry, 0o600);
    chmodSync(join(dir, 'audit.jsonl'), 0o666);
    const agent = await openVault({ dir, token });
    await expect(agent.get('openai-api-key')).rejects.toMatchObject({ code: 'AUDIT', message: expect.stringMatching(/cannot be trusted/) });
    chmodSync(join(dir, 'audit.jsonl'), 0o600);
    expect(await agent.get('openai-api-key')).toBe('sk-planted-0123456789');
    if (isRoot) {
      for (const entry of entries) chownSync(entry, OTHER_UID, OTHER_UID);
      await expect(openVault({ dir, token })).rejects.toMatchObject({ code: 'BACKEND', message: expect.stringMatching(/owned by uid 65534/) });
    }
    writeFileSync(join(dir, 'notes.txt'), 'files we do not read are left alone');
  });
});
