/**
 * passwd, backup and restore work on vault directories only. On a server vault a new header
 * alone would leave the server's owner verifier behind (the owner locked out), so the library
 * refuses before writing; and the CLI refuses `--server` rather than quietly changing or copying
 * the local vault AGENT_VAULT_DIR names instead of the one the owner pointed at.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openVault } from '../../src/index.ts';
import { tempDir } from '../_fixtures/index.ts';
import { cleanEnv, runCli } from '../cli/_cli.ts';
import { ownerOn, sqliteServer } from './_server.ts';

describe('directory-only owner operations on a server vault', () => {
  it('changeUnlock and backup are refused, and the owner still opens with the old key file', async () => {
    const server = await sqliteServer();
    const { owner, keyFile } = await ownerOn(server.url, server.dir);
    await owner.set('openai-api-key', 'sk-server-dironly-91c2');
    const newKey = join(server.dir, 'new-owner.key');
    await expect(owner.changeUnlock({ keyFile: newKey })).rejects.toMatchObject({ code: 'USAGE', message: /server/ });
    expect(existsSync(newKey)).toBe(false);
    await expect(owner.backup()).rejects.toMatchObject({ code: 'USAGE', message: /server/ });
    await owner.close();

    const again = await openVault({ server: server.url, keyFile });
    expect(await again.get('openai-api-key')).toBe('sk-server-dironly-91c2');
    await again.close();
  });

  it('the CLI refuses --server for passwd, backup and restore, leaving the local vault as it was', async () => {
    const home = tempDir('av-dironly-');
    const vaultDir = join(home, 'vault');
    const key = join(home, 'owner.key');
    const env = cleanEnv(home, { AGENT_VAULT_DIR: vaultDir });
    expect((await runCli(['init', '--key-file', key], { cwd: home, env })).code).toBe(0);
    // Nothing listens there: the refusal comes before any connection.
    const url = 'http://127.0.0.1:9';
    const attempts = [
      ['passwd', '--key-file', key, '--new-key-file', join(home, 'other.key')],
      ['backup', join(home, 'copy.avb'), '--key-file', key],
      ['restore', join(home, 'copy.avb'), '--key-file', key],
    ];
    for (const args of attempts) {
      const result = await runCli([...args, '--server', url], { cwd: home, env });
      expect(result.code).not.toBe(0);
      expect(result.stderr).toMatch(/not a server vault/);
    }
    // The local vault still opens with its old key file: passwd did not fall back to it.
    await (await openVault({ dir: vaultDir, keyFile: key, audit: false })).close();
    expect(existsSync(join(home, 'other.key'))).toBe(false);
    expect(existsSync(join(home, 'copy.avb'))).toBe(false);
  });
});
