/**
 * The owner's command line against a real `serve` process: init, set, agent create, list, audit
 * verify and revoke with --server (or AGENT_VAULT_SERVER), and an agent process reading through
 * the server with nothing but AGENT_VAULT_SERVER and its token file. No value on any output.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../_fixtures/index.ts';
import { cleanEnv, PACKAGE_ENTRY, run, runCli } from '../cli/_cli.ts';
import { serveProcess } from './_serve-process.ts';

const VALUE = 'sk-cli-server-4a7e19c2d8';

describe('the CLI in server mode', () => {
  it('an owner runs the vault remotely; an agent process reads through the server', async () => {
    const home = tempDir('av-cli-server-');
    const serve = await serveProcess(join(home, 'vault.db'));
    const env = cleanEnv(home, { AGENT_VAULT_STATE_DIR: join(home, 'state') });
    const owner = (args: string[], input?: string) =>
      runCli([...args, '--key-file', join(home, 'owner.key')], { cwd: home, env: { ...env, AGENT_VAULT_SERVER: serve.url }, input });

    expect((await runCli(['init', '--server', serve.url, '--key-file', join(home, 'owner.key')], { cwd: home, env })).code).toBe(0);
    expect((await owner(['set', 'openai-api-key'], VALUE)).code).toBe(0);
    const created = await owner(['agent', 'create', 'bot', '--allow', 'openai-*', '--token-file', join(home, 'bot.token')]);
    expect(created.code).toBe(0);
    const listed = await owner(['list', '--json']);
    expect(JSON.parse(listed.stdout).map((s: { name: string }) => s.name)).toEqual(['openai-api-key']);

    const agentCode = `const { openVault } = await import(${JSON.stringify(PACKAGE_ENTRY)});
      const vault = await openVault();
      console.log((await vault.get('openai-api-key')).length);`;
    const agentEnv = { ...env, AGENT_VAULT_SERVER: serve.url, AGENT_VAULT_TOKEN_FILE: join(home, 'bot.token') };
    const agent = await run(process.execPath, ['--input-type=module', '-e', agentCode], { cwd: home, env: agentEnv });
    expect(agent.stdout.trim()).toBe(String(VALUE.length));

    const verified = await owner(['audit', 'verify', '--json']);
    expect(verified.code).toBe(0);
    expect(JSON.parse(verified.stdout)).toMatchObject({ ok: true });
    const audit = await owner(['audit', '--json']);
    expect(audit.stdout).toContain('"actor":"agent:bot"');

    expect((await owner(['agent', 'revoke', 'bot'])).code).toBe(0);
    const refused = await run(process.execPath, ['--input-type=module', '-e', agentCode], { cwd: home, env: agentEnv });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/revoked/);

    for (const output of [created, listed, verified, audit, agent, refused]) {
      expect(output.stdout + output.stderr).not.toContain(VALUE);
    }
    expect(readFileSync(join(home, 'vault.db')).includes(Buffer.from(VALUE))).toBe(false);
  });

  it('serve --help explains starting, PostgreSQL, TLS, backup and durability', async () => {
    const help = await runCli(['serve', '--help'], { cwd: tempDir('av-cli-help-'), env: cleanEnv(tempDir('av-home-')) });
    expect(help.code).toBe(0);
    for (const needle of ['--database', 'postgres://', 'npm install pg', '--tls-cert', 'reverse proxy', '.backup', '--durability', '/v1/health']) {
      expect(help.stdout, needle).toContain(needle);
    }
  });
});
