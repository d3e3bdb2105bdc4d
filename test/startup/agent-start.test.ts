/**
 * An agent's start loads only what an agent runs: importing `agent-vault` and an adapter, opening
 * the vault with a token file and resolving a key loads none of the owner's modules (its store,
 * records, backups, migration, graces), which are a quarter of the core's code and were compiled
 * by every agent at start-up. Proved on the built package in a child process that lists the
 * sources of every module it loaded; the owner's own start, in the same way, does load them.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createVault } from '../../src/index.ts';
import { fakeKey, tempDir } from '../_fixtures/index.ts';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const OWNER_ONLY = ['src/_owner-ops.ts', 'src/_owner-role.ts', 'src/_owner-store.ts', 'src/_owner-records.ts', 'src/_snapshot.ts',
  'src/_backup.ts', 'src/_migrate.ts', 'src/_grace.ts', 'src/_local-state.ts'];

async function loadedBy(script: string, env: Record<string, string>): Promise<string[]> {
  const { stdout } = await run(process.execPath, ['--import', join(import.meta.dirname, '_record-loads.ts'), '--input-type=module', '-e', script], {
    cwd: root, env: { PATH: process.env.PATH ?? '', ...env },
  });
  expect(stdout).toContain('resolved\n');
  return stdout.slice(stdout.indexOf('loaded:\n') + 8).trim().split('\n');
}

describe("an agent's start", () => {
  it("loads none of the owner's modules, from import to the first key; the owner's start does", async () => {
    const base = tempDir('av-agent-start-');
    const dir = join(base, 'vault');
    const keyFile = join(base, 'owner.key');
    const owner = await createVault({ dir, keyFile, configDir: join(base, 'config') });
    await owner.set('openai-api-key', fakeKey());
    const { token } = await owner.createAgent('bot', { allow: ['openai-*'], ttl: '1h' });
    await owner.close();
    const tokenFile = join(base, 'agent.token');
    writeFileSync(tokenFile, token, { mode: 0o600 });
    const env = { AGENT_VAULT_DIR: dir, AGENT_VAULT_CONFIG_DIR: join(base, 'config') };

    const agent = await loadedBy(`
      const { openVault } = await import('agent-vault');
      await import('agent-vault/openai');
      const vault = await openVault();
      await vault.use('openai-api-key', (secret) => { if (secret.length > 0) console.log('resolved'); });
    `, { ...env, AGENT_VAULT_TOKEN_FILE: tokenFile });
    expect(agent).toEqual(expect.arrayContaining(['src/vault.ts', 'src/_secret-access.ts', 'src/backends/file.ts', 'adapters/openai.ts']));
    expect(agent.filter((source) => OWNER_ONLY.includes(source))).toEqual([]);

    const ownerStart = await loadedBy(`
      const { openVault } = await import('agent-vault');
      const vault = await openVault({ keyFile: ${JSON.stringify(keyFile)} });
      await vault.use('openai-api-key', (secret) => { if (secret.length > 0) console.log('resolved'); });
      await vault.listAgents();
    `, env);
    expect(ownerStart).toEqual(expect.arrayContaining(['src/_owner-role.ts', 'src/_owner-store.ts', 'src/_owner-ops.ts']));
  });
});
