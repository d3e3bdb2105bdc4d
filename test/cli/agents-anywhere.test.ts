/**
 * Running agents anywhere and changing them without a restart, through the built CLI and a
 * long-running agent process on the built package: the audit log in its own directory (the vault
 * untouched by agents), errors that say where they looked, the token file followed across
 * `agent rotate --token-file --force`, and the checks on what the agent is handed.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { cleanEnv, PACKAGE_ENTRY, runCli } from './_cli.ts';
import { tempDir } from '../_fixtures/index.ts';

const KEY = 'sk-anywhere-4c1d9e7a2b6f-do-not-print';
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const LOOP = join(import.meta.dirname, '_agent-loop.ts');

/** A vault with one secret, owned through a key file, in `cwd/.agent-vault`. */
async function ownerSetup(env: Record<string, string> = {}) {
  const cwd = tempDir();
  const key = ['--key-file', join(cwd, 'owner.key')];
  expect((await runCli(['init', ...key], { cwd, env })).code).toBe(0);
  expect((await runCli(['set', 'openai-api-key', ...key], { cwd, env, input: KEY })).code).toBe(0);
  return { cwd, dir: join(cwd, '.agent-vault'), key };
}

/** The long-running agent: `ask(name)` resolves one secret through it. */
function startAgent(cwd: string, env: Record<string, string | undefined>) {
  const child = spawn(process.execPath, [LOOP, PACKAGE_ENTRY], { cwd, env: cleanEnv(cwd, env), stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async () => JSON.parse((await lines.next()).value as string) as Record<string, unknown>;
  return {
    opened: next(),
    async ask(name: string) {
      child.stdin.write(`${name}\n`);
      return next();
    },
    async stop() {
      child.stdin.end();
      await new Promise((resolve) => child.on('close', resolve));
      return stderr;
    },
  };
}

/** Names, sizes and modification times of everything in `dir`: what "untouched" means. */
function snapshot(dir: string): string {
  return readdirSync(dir).sort().map((name) => {
    const info = statSync(join(dir, name));
    return `${name}:${info.size}:${info.mtimeMs}`;
  }).join('\n');
}

describe('the audit log in its own directory (AGENT_VAULT_AUDIT_DIR)', () => {
  it('agents write nothing in the vault directory, which can be read-only; the owner verifies the log there', async () => {
    const auditDir = join(tempDir(), 'audit');
    const { cwd, dir, key } = await ownerSetup({ AGENT_VAULT_AUDIT_DIR: auditDir });
    const tokenFile = join(cwd, 'bot.token');
    expect((await runCli(['agent', 'create', 'bot', '--allow', 'openai-*', '--token-file', tokenFile, ...key], {
      cwd, env: { AGENT_VAULT_AUDIT_DIR: auditDir },
    })).code).toBe(0);
    const before = snapshot(dir);
    // Read-only for the agent (effective unless the tests run as root, which the snapshot covers).
    chmodSync(dir, 0o555);
    try {
      const elsewhere = tempDir(); // not the project folder: the vault is named by an absolute path
      const agent = startAgent(elsewhere, { AGENT_VAULT_DIR: dir, AGENT_VAULT_AUDIT_DIR: auditDir, AGENT_VAULT_TOKEN_FILE: tokenFile });
      expect(await agent.opened).toEqual({ opened: true });
      expect(await agent.ask('openai-api-key')).toEqual({ ok: true, sha256: sha256(KEY) });
      expect(await agent.stop()).toBe('');
    } finally {
      chmodSync(dir, 0o700);
    }
    expect(snapshot(dir)).toBe(before);
    expect(readFileSync(join(auditDir, 'audit.jsonl'), 'utf8')).toContain('"actor":"agent:bot"');

    const verify = await runCli(['audit', 'verify', ...key], { cwd, env: { AGENT_VAULT_AUDIT_DIR: auditDir } });
    expect(verify.code, verify.stderr).toBe(0);
    const status = JSON.parse((await runCli(['status', '--json'], { cwd, env: { AGENT_VAULT_AUDIT_DIR: auditDir } })).stdout);
    expect(status.audit.path).toBe(join(auditDir, 'audit.jsonl'));
  });

  it('an agent started in another directory is told where it looked', async () => {
    const home = tempDir();
    const cwd = join(home, 'elsewhere');
    mkdirSync(cwd);
    const tokenFile = join(home, 'token');
    writeFileSync(tokenFile, 'avt_not-checked-before-the-vault-is-found\n', { mode: 0o600 });
    const agent = startAgent(cwd, { HOME: home, AGENT_VAULT_TOKEN_FILE: tokenFile });
    const opened = await agent.opened;
    await agent.stop();
    expect(opened).toMatchObject({ opened: false, code: 'VAULT_NOT_FOUND' });
    expect(opened.message).toContain(join(cwd, '.agent-vault'));
    expect(opened.message).toContain(join(home, '.agent-vault'));
  });
});

describe('changing an agent without a restart', () => {
  it('agent rotate --token-file --force: the running agent switches to the new token at its next request', async () => {
    const { cwd, dir, key } = await ownerSetup();
    const tokenFile = join(cwd, 'bot.token');
    await runCli(['agent', 'create', 'bot', '--allow', 'openai-*', '--token-file', tokenFile, ...key], { cwd });
    const firstToken = readFileSync(tokenFile, 'utf8');
    const agent = startAgent(cwd, { AGENT_VAULT_DIR: dir, AGENT_VAULT_TOKEN_FILE: tokenFile });
    expect(await agent.opened).toEqual({ opened: true });
    expect(await agent.ask('openai-api-key')).toMatchObject({ ok: true });

    // Without --force the file is never overwritten.
    const refused = await runCli(['agent', 'rotate', 'bot', '--token-file', tokenFile, ...key], { cwd });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('Add --force to replace it');
    expect(readFileSync(tokenFile, 'utf8')).toBe(firstToken);

    const rotated = await runCli(['agent', 'rotate', 'bot', '--token-file', tokenFile, '--force', ...key], { cwd });
    expect(rotated.code, rotated.stderr).toBe(0);
    expect(readFileSync(tokenFile, 'utf8')).not.toBe(firstToken);
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    expect(readdirSync(cwd).filter((name) => name.includes('.tmp'))).toEqual([]);
    // Before: ACCESS_DENIED (rotated) until the agent was restarted.
    expect(await agent.ask('openai-api-key')).toEqual({ ok: true, sha256: sha256(KEY) });

    // The old token really is dead: a process holding it is refused.
    const old = startAgent(cwd, { AGENT_VAULT_DIR: dir, AGENT_VAULT_TOKEN: firstToken.trim() });
    await old.opened;
    expect(await old.ask('openai-api-key')).toMatchObject({ ok: false, code: 'ACCESS_DENIED', reason: 'rotated' });
    await old.stop();

    // A token of another agent put in the file is refused, not silently adopted.
    const otherFile = join(cwd, 'other.token');
    await runCli(['agent', 'create', 'other', '--allow', '*', '--token-file', otherFile, ...key], { cwd });
    writeFileSync(tokenFile, readFileSync(otherFile), { mode: 0o600 });
    expect(await agent.ask('openai-api-key')).toMatchObject({ ok: false, code: 'ACCESS_DENIED', reason: 'bad-token' });
    expect(await agent.stop()).toBe('');
  });
});

describe('agent update: scope and lifetime change, the token stays', () => {
  it('a running agent gains and loses secrets at its next request, with the same token', async () => {
    const { cwd, dir, key } = await ownerSetup();
    await runCli(['set', 'anthropic-api-key', ...key], { cwd, input: 'sk-ant-second-value' });
    const tokenFile = join(cwd, 'bot.token');
    await runCli(['agent', 'create', 'bot', '--allow', 'openai-*', '--ttl', '1h', '--token-file', tokenFile, ...key], { cwd });
    const token = readFileSync(tokenFile, 'utf8');
    const agent = startAgent(cwd, { AGENT_VAULT_DIR: dir, AGENT_VAULT_TOKEN_FILE: tokenFile });
    await agent.opened;
    expect(await agent.ask('openai-api-key')).toMatchObject({ ok: true });
    expect(await agent.ask('anthropic-api-key')).toMatchObject({ ok: false, reason: 'not-granted' });

    const widened = await runCli(['agent', 'update', 'bot', '--allow', 'openai-*', '--allow', 'anthropic-*', '--ttl', '90d', ...key], { cwd });
    expect(widened.code, widened.stderr).toBe(0);
    expect(widened.stderr).toContain('its token is unchanged');
    expect(widened.stderr).toContain('(in 90d)');
    expect(await agent.ask('anthropic-api-key')).toEqual({ ok: true, sha256: sha256('sk-ant-second-value') });

    const narrowed = await runCli(['agent', 'update', 'bot', '--allow', 'anthropic-*', ...key], { cwd });
    expect(narrowed.code, narrowed.stderr).toBe(0);
    expect(await agent.ask('openai-api-key')).toMatchObject({ ok: false, code: 'ACCESS_DENIED', reason: 'not-granted' });
    expect(await agent.ask('anthropic-api-key')).toMatchObject({ ok: true });
    expect(await agent.stop()).toBe('');
    expect(readFileSync(tokenFile, 'utf8')).toBe(token);

    const listed = JSON.parse((await runCli(['agent', 'show', 'bot', '--json', ...key], { cwd })).stdout);
    expect(listed).toMatchObject({ allow: ['anthropic-*'], generation: 1, secrets: ['anthropic-api-key'] });
    const audit = (await runCli(['audit', '--json', '--name', 'bot', ...key], { cwd })).stdout;
    expect(audit.match(/"action":"agent\.update"/g)).toHaveLength(2);
    expect((await runCli(['audit', 'verify', ...key], { cwd })).code).toBe(0);
  });

  it('a misspelt name is not answered with advice to re-create the agent; update needs something to change', async () => {
    const { cwd, dir, key } = await ownerSetup();
    const token = (await runCli(['agent', 'create', 'bot', '--allow', 'openai-*', ...key], { cwd })).stdout.trim();
    const agent = startAgent(cwd, { AGENT_VAULT_DIR: dir, AGENT_VAULT_TOKEN: token });
    await agent.opened;
    const refused = await agent.ask('opneai-api-key'); // misspelt outside its pattern
    await agent.stop();
    expect(refused).toMatchObject({ ok: false, reason: 'not-granted' });
    expect(refused.message).toContain('check the spelling');
    expect(refused.message).toContain('agent-vault agent update bot --allow PATTERN');
    expect(refused.message).not.toMatch(/revoke|create/);
    const nothing = await runCli(['agent', 'update', 'bot', ...key], { cwd });
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toContain('Say what to change');
    const typo = await runCli(['agent', 'update', 'bto', '--ttl', '1h', ...key], { cwd });
    expect(typo.stderr).toContain('Did you mean "bot"?');
  });
});

describe('what the agent process is handed', () => {
  it('a token file other users can read is refused, as a passphrase file is', async () => {
    const { cwd, dir, key } = await ownerSetup();
    const tokenFile = join(cwd, 'bot.token');
    await runCli(['agent', 'create', 'bot', '--allow', 'openai-*', '--token-file', tokenFile, ...key], { cwd });
    chmodSync(tokenFile, 0o644);
    const agent = startAgent(cwd, { AGENT_VAULT_DIR: dir, AGENT_VAULT_TOKEN_FILE: tokenFile });
    const opened = await agent.opened;
    await agent.stop();
    expect(opened).toMatchObject({ opened: false, code: 'USAGE' });
    expect(opened.message).toContain(`chmod 600 ${tokenFile}`);
    expect(String(opened.message)).not.toContain(readFileSync(tokenFile, 'utf8').trim());
    // Group-readable is how Kubernetes (defaultMode 0440 + fsGroup) hands it over: accepted.
    chmodSync(tokenFile, 0o440);
    const mounted = startAgent(cwd, { AGENT_VAULT_DIR: dir, AGENT_VAULT_TOKEN_FILE: tokenFile });
    expect(await mounted.opened).toEqual({ opened: true });
    expect(await mounted.ask('openai-api-key')).toMatchObject({ ok: true });
    await mounted.stop();
  });

  it('warns, by name only, when a provider key is still in the agent environment', async () => {
    const { cwd, dir, key } = await ownerSetup();
    const token = (await runCli(['agent', 'create', 'bot', '--allow', 'openai-*', ...key], { cwd })).stdout.trim();
    const leftOver = 'sk-proj-Zq8vR2mK7xP4nL9wT3cY6bH1jF5gD0sAeU7i'; // shaped like a real key
    const agent = startAgent(cwd, { AGENT_VAULT_DIR: dir, AGENT_VAULT_TOKEN: token, OPENAI_API_KEY: leftOver });
    expect(await agent.opened).toEqual({ opened: true });
    await agent.ask('openai-api-key');
    const stderr = await agent.stop();
    expect(stderr).toContain('AGENT_VAULT_KEY_IN_ENV');
    expect(stderr).toContain('OPENAI_API_KEY is still set');
    expect(stderr).not.toContain(leftOver.slice(8));
    const tokenFile = join(cwd, 'bot.token');
    writeFileSync(tokenFile, token, { mode: 0o600 });
    const clean = startAgent(cwd, { AGENT_VAULT_DIR: dir, AGENT_VAULT_TOKEN_FILE: tokenFile });
    await clean.opened;
    expect(await clean.stop()).toBe('');
  });
});

