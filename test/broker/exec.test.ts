/**
 * `agent-vault exec` with real, unchanged clients (curl, the Node openai and anthropic SDKs)
 * against a provider in its own process: the provider gets the real key, the client process
 * never holds it, the temporary agent is revoked and the phantom keys die when the child exits.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openVault } from '../../src/index.ts';
import { CLIENTS, developerHome, type Home, providerProcess, type ProviderProcess, runExec, startExec } from './_exec.ts';

let provider: ProviderProcess;
let home: Home;
let upstreams: string[];

beforeAll(async () => {
  [provider, home] = await Promise.all([providerProcess(), developerHome()]);
  upstreams = ['--upstream', `openai=${provider.origin}`, '--upstream', `anthropic=${provider.origin}`];
});
afterAll(() => {
  provider?.stop();
});

const ALLOW = ['--allow', 'openai-*', '--allow', 'anthropic-*'];

describe('exec: real clients, unchanged, reach the provider through the broker', () => {
  it('the child gets broker URLs and phantom keys; no AGENT_VAULT_* and no real provider variable', async () => {
    const result = await runExec(home, [...ALLOW, ...upstreams, '--', process.execPath, '-e',
      'console.log(JSON.stringify({ env: process.env, environ: require("fs").readFileSync("/proc/self/environ", "latin1") }))'],
      { ...home.env, OPENAI_API_KEY: 'sk-real-key-in-the-shell', AGENT_VAULT_DIR: join(home.home, '.agent-vault'), GROQ_API_KEY: 'gsk-shell' });
    expect(result.code).toBe(0);
    const { env, environ } = JSON.parse(result.stdout) as { env: Record<string, string>; environ: string };
    expect(env.OPENAI_BASE_URL).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/openai\/v1$/);
    expect(env.ANTHROPIC_BASE_URL).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/anthropic$/);
    expect(env.OPENAI_API_KEY).toMatch(/^avp_[A-Za-z0-9_-]{43}$/);
    expect(env.ANTHROPIC_API_KEY).toMatch(/^avp_/);
    expect(env.ANTHROPIC_API_KEY).not.toBe(env.OPENAI_API_KEY);
    expect(Object.keys(env).filter((name) => name.startsWith('AGENT_VAULT_'))).toEqual([]);
    expect(env.GROQ_API_KEY).toBeUndefined(); // not served (no groq secret), and the shell's is not passed on
    for (const text of [JSON.stringify(env), environ]) {
      for (const value of [...Object.values(home.secrets), 'sk-real-key-in-the-shell', home.passphraseFile, 'avt_']) expect(text).not.toContain(value);
    }
  });

  it('curl: plain HTTP with the variables, streaming included', async () => {
    const before = (await provider.received()).length;
    const result = await runExec(home, [...ALLOW, ...upstreams, '--', 'sh', '-c',
      'curl -sN "$OPENAI_BASE_URL/chat/completions" -H "Authorization: Bearer $OPENAI_API_KEY" -H "content-type: application/json" ' +
      `-d '{"model":"gpt-test","stream":true,"messages":[]}'`]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('" provider"');
    expect(result.stdout).toContain('data: [DONE]');
    const got = (await provider.received()).slice(before);
    expect(got.map((r) => r.headers.authorization)).toEqual([`Bearer ${home.secrets['openai-api-key']}`]);
  });

  it('the Node openai SDK, reading only its variables: a completion and a stream', async () => {
    const before = (await provider.received()).length;
    const result = await runExec(home, [...ALLOW, ...upstreams, '--', process.execPath, join(CLIENTS, 'openai-client.mjs')]);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ text: 'Hello from the provider', stream: ['Hello', ' from', ' the', ' provider'] });
    const got = (await provider.received()).slice(before);
    expect(got).toHaveLength(2);
    for (const request of got) expect(request.headers.authorization).toBe(`Bearer ${home.secrets['openai-api-key']}`);
  });

  it('the Node anthropic SDK, reading only its variables: a message and a stream', async () => {
    const before = (await provider.received()).length;
    const result = await runExec(home, [...ALLOW, ...upstreams, '--', process.execPath, join(CLIENTS, 'anthropic-client.mjs')]);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ text: 'Hello from the provider', stream: ['Hello', ' from', ' the', ' provider'] });
    const got = (await provider.received()).slice(before);
    expect(got).toHaveLength(2);
    for (const request of got) {
      expect(request.headers['x-api-key']).toBe(home.secrets['anthropic-api-key']);
      expect(request.headers['anthropic-version']).toBeDefined();
    }
  });

  it('a user-defined route from a --routes file: its own variables, its own header', async () => {
    const routes = join(home.root, 'routes.json');
    writeFileSync(routes, JSON.stringify({
      allowHttp: true,
      routes: [{ name: 'together', upstream: provider.origin, secret: 'openai-api-key', header: 'x-together-key' }],
    }));
    const before = (await provider.received()).length;
    const result = await runExec(home, ['--allow', 'openai-*', '--routes', routes, '--', 'sh', '-c',
      'curl -s "$TOGETHER_BASE_URL/v1/models" -H "x-api-key: $TOGETHER_API_KEY"']);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ path: '/v1/models' });
    const [got] = (await provider.received()).slice(before);
    expect(got!.headers['x-together-key']).toBe(home.secrets['openai-api-key']);
    expect(got!.headers['x-api-key']).toBeUndefined();
  });

  it('the exit code is the child’s; a signal to exec reaches the child; the temporary agent ends revoked', async () => {
    expect((await runExec(home, [...ALLOW, ...upstreams, '--', 'sh', '-c', 'exit 42'])).code).toBe(42);
    const execution = startExec(home, [...ALLOW, ...upstreams, '--', process.execPath, '-e',
      'process.on("SIGTERM", () => { console.log("got-term"); process.exit(3); }); console.log("ready"); setInterval(() => {}, 1000);']);
    expect(await execution.line()).toBe('ready');
    execution.child.kill('SIGTERM');
    const result = await execution.done;
    expect(result.stdout).toContain('got-term');
    expect(result.code).toBe(3);
    const owner = await openVault({ dir: join(home.home, '.agent-vault'), passphrase: home.passphrase });
    const agents = await owner.listAgents();
    await owner.close();
    expect(agents.length).toBeGreaterThanOrEqual(2);
    expect(agents.every((agent) => agent.id.startsWith('exec-') && agent.status === 'revoked')).toBe(true);
  });

  it('a child ended by a signal: exec exits 128 + its number, as a shell reports it', async () => {
    const result = await runExec(home, [...ALLOW, ...upstreams, '--', 'sh', '-c', 'kill -TERM $$']);
    expect(result.code).toBe(128 + 15);
  });

  it('the phantom key stops working when exec returns', async () => {
    const result = await runExec(home, [...ALLOW, ...upstreams, '--', 'sh', '-c', 'echo "$OPENAI_BASE_URL $OPENAI_API_KEY"']);
    const [base, key] = result.stdout.trim().split(' ');
    await expect(fetch(`${base}/models`, { headers: { authorization: `Bearer ${key}` } })).rejects.toThrow();
  });

  it('refuses to run without vault access, and with both a token and --allow', async () => {
    const none = await runExec(home, [...upstreams, '--', 'true'], { HOME: home.home });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('needs vault access');
    const both = await runExec(home, [...ALLOW, '--', 'true'], { ...home.env, AGENT_VAULT_TOKEN: 'avt_x' });
    expect(both.code).toBe(2);
    const missing = await runExec(home, [...ALLOW, ...upstreams, '--', 'no-such-command-here']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('Cannot run');
  });

  it('with an agent token in AGENT_VAULT_TOKEN: its grants apply, and the child never sees it', async () => {
    const owner = await openVault({ dir: join(home.home, '.agent-vault'), passphrase: home.passphrase });
    const { token } = await owner.createAgent('token-bot', { allow: ['openai-*'], ttl: '1h' });
    await owner.close();
    const result = await runExec(home, [...upstreams, '--', 'sh', '-c',
      'cat /proc/self/environ | tr "\\0" "\\n"; curl -s "$ANTHROPIC_BASE_URL/v1/messages" -H "x-api-key: $ANTHROPIC_API_KEY" -d "{}"'],
      { HOME: home.home, AGENT_VAULT_TOKEN: token });
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain(token);
    expect(result.stdout).not.toContain('AGENT_VAULT_');
    // The token holds no grant for anthropic-api-key: the vault refuses, the broker says so, nothing is sent.
    expect(result.stdout).toContain('permission_error');
    expect(readFileSync(join(home.home, '.agent-vault', 'audit.jsonl'), 'utf8')).toContain('"actor":"agent:token-bot"');
  });
});
