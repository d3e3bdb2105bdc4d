/**
 * The long-running broker: started as a service with an agent token, phantom keys minted and
 * revoked by the owner over the admin socket (a 0700 directory), TLS required beyond loopback.
 */
import { spawn, type ChildProcess, execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_ENTRY, runCli } from '../cli/_cli.ts';
import { selfSigned, tempDir } from '../_fixtures/index.ts';
import { openVault } from '../../src/index.ts';
import { developerHome, type Home, providerProcess, type ProviderProcess } from './_exec.ts';

let provider: ProviderProcess;
let home: Home;
let tokenFile: string;
let scratch: string;
const running: ChildProcess[] = [];

beforeAll(async () => {
  [provider, home] = await Promise.all([providerProcess(), developerHome()]);
  scratch = tempDir('agent-vault-brokerd-');
  const owner = await openVault({ dir: join(home.home, '.agent-vault'), passphrase: home.passphrase });
  const { token } = await owner.createAgent('brokerd', { allow: ['openai-*'], ttl: '1h' });
  await owner.close();
  tokenFile = join(scratch, 'broker.token');
  writeFileSync(tokenFile, token, { mode: 0o600 });
});
afterAll(() => {
  for (const child of running) child.kill();
  provider?.stop();
});

/** Start `agent-vault broker ...args`; resolves with its URL (its first stdout line). */
async function startBrokerd(args: string[]): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [CLI_ENTRY, 'broker', '--dir', join(home.home, '.agent-vault'), ...args], {
    env: { PATH: process.env.PATH, HOME: home.home, AGENT_VAULT_TOKEN_FILE: tokenFile }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.push(child);
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', () => reject(new Error(`the broker exited: ${stderr}`)));
  });
  return { url, child };
}

const admin = () => join(scratch, 'admin', 'admin.sock');
const key = (args: string[]) => runCli(['broker', 'key', ...args, '--admin', admin()], { cwd: scratch });

describe('agent-vault broker, long-running', () => {
  it('mints a key over the admin socket; the key works; revoking it stops the next request', async () => {
    const { url } = await startBrokerd(['--listen', '127.0.0.1:0', '--admin', admin(), '--upstream', `openai=${provider.origin}`]);
    expect(statSync(join(scratch, 'admin')).mode & 0o777).toBe(0o700);
    expect(statSync(admin()).mode & 0o777).toBe(0o600);
    const created = await key(['create', 'research-bot', '--route', 'openai', '--ttl', '8h']);
    expect(created.code, created.stderr).toBe(0);
    const phantom = created.stdout.trim();
    expect(phantom).toMatch(/^avp_[A-Za-z0-9_-]{43}$/);
    expect(created.stderr).toContain(`${url}/openai/v1`);
    const ok = await fetch(`${url}/openai/v1/models`, { headers: { authorization: `Bearer ${phantom}` } });
    expect(ok.status).toBe(200);
    const listed = await key(['list', '--json']);
    expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ name: 'research-bot', route: 'openai' })]);
    expect(listed.stdout).not.toContain(phantom);
    expect((await key(['revoke', 'research-bot'])).code).toBe(0);
    const refused = await fetch(`${url}/openai/v1/models`, { headers: { authorization: `Bearer ${phantom}` } });
    expect(refused.status).toBe(401);
    expect((await key(['revoke', 'research-bot'])).code).toBe(1);
    // The owner can see who minted and revoked what, never the key.
    const log = readFileSync(join(home.home, '.agent-vault', 'audit.jsonl'), 'utf8');
    expect(log).toMatch(/"actor":"agent:brokerd".*"action":"broker\.key".*"note":"create key=research-bot route=openai expires=/);
    expect(log).toMatch(/"action":"broker\.key".*"outcome":"ok".*"note":"revoke key=research-bot"/);
    expect(log).not.toContain(phantom);
    expect((await key(['create', 'x', '--route', 'nope'])).stderr).toContain('no route "nope"');
  });

  it("revoking the broker's own agent stops every phantom key at its next request (403 from the vault)", async () => {
    const owner = await openVault({ dir: join(home.home, '.agent-vault'), passphrase: home.passphrase });
    const { token } = await owner.createAgent('brokerd-2', { allow: ['openai-*'], ttl: '1h' });
    const file = join(scratch, 'broker-2.token');
    writeFileSync(file, token, { mode: 0o600 });
    const socket = join(scratch, 'admin-2', 'a.sock');
    const child = spawn(process.execPath, [CLI_ENTRY, 'broker', '--listen', '127.0.0.1:0', '--admin', socket, '--upstream', `openai=${provider.origin}`], {
      env: { PATH: process.env.PATH, HOME: home.home, AGENT_VAULT_TOKEN_FILE: file, AGENT_VAULT_DIR: join(home.home, '.agent-vault') },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    running.push(child);
    const url = await new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once('line', resolve));
    const phantom = (await runCli(['broker', 'key', 'create', 'bot', '--route', 'openai', '--admin', socket], { cwd: scratch })).stdout.trim();
    const request = () => fetch(`${url}/openai/v1/models`, { headers: { authorization: `Bearer ${phantom}` } });
    expect((await request()).status).toBe(200);
    await owner.revokeAgent('brokerd-2');
    await owner.close();
    const before = (await provider.received()).length;
    const refused = await request();
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('vault-access_denied');
    expect((await provider.received()).length).toBe(before);
  });

  it('refuses an admin directory others can enter', async () => {
    const open = join(scratch, 'open');
    mkdirSync(open);
    chmodSync(open, 0o755);
    const result = await runCli(['broker', '--listen', '127.0.0.1:0', '--admin', join(open, 'a.sock')], {
      cwd: scratch, env: { AGENT_VAULT_TOKEN_FILE: tokenFile, AGENT_VAULT_DIR: join(home.home, '.agent-vault') },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('mode 0700');
  });

  it('refuses to listen beyond loopback without TLS; serves HTTPS with it', async () => {
    const plain = await runCli(['broker', '--listen', '0.0.0.0:0'], {
      cwd: scratch, env: { AGENT_VAULT_TOKEN_FILE: tokenFile, AGENT_VAULT_DIR: join(home.home, '.agent-vault') },
    });
    expect(plain.code).toBe(2);
    expect(plain.stderr).toContain('only with TLS');
    const certificate = selfSigned();
    if (!certificate) return expect.fail('openssl is needed to make a test certificate');
    writeFileSync(join(scratch, 'cert.pem'), certificate.cert);
    writeFileSync(join(scratch, 'key.pem'), certificate.key);
    const { url } = await startBrokerd(['--listen', '127.0.0.1:0', '--admin', join(scratch, 'tls-admin', 'a.sock'),
      '--tls-cert', join(scratch, 'cert.pem'), '--tls-key', join(scratch, 'key.pem'), '--upstream', `openai=${provider.origin}`]);
    expect(url).toMatch(/^https:\/\//);
    const created = await runCli(['broker', 'key', 'create', 'tls-bot', '--route', 'openai', '--admin', join(scratch, 'tls-admin', 'a.sock')], { cwd: scratch });
    const body = execFileSync('curl', ['-s', '--cacert', join(scratch, 'cert.pem'), `${url.replace('127.0.0.1', 'localhost')}/openai/v1/models`,
      '-H', `Authorization: Bearer ${created.stdout.trim()}`], { encoding: 'utf8' });
    expect(JSON.parse(body)).toEqual({ path: '/v1/models' });
  });

  it('stops on SIGTERM and removes its admin socket', async () => {
    const socket = join(scratch, 'stop-admin', 'a.sock');
    const { child } = await startBrokerd(['--listen', '127.0.0.1:0', '--admin', socket]);
    const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(() => statSync(socket)).toThrow();
  });
});

describe('exec and broker help say what the agent holds', () => {
  it('exec --help names the variables, phantom keys and the temporary agent', async () => {
    const { stdout } = await runCli(['exec', '--help'], { cwd: scratch });
    for (const text of ['OPENAI_BASE_URL', 'ANTHROPIC_API_KEY', 'phantom keys', 'revoked when COMMAND', 'no AGENT_VAULT_* variable']) {
      expect(stdout).toContain(text);
    }
  });

  it('exec without a command after -- is a usage error', async () => {
    const result = await runCli(['exec', '--allow', 'x'], { cwd: scratch });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('after --');
  });
});
