import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveAsAgent, runCli, transcript } from './_cli.ts';
import { tempDir } from '../_fixtures/index.ts';

/** A value that must never show up in any output but `get --reveal`. */
const CANARY = 'sk-canary-7f3a9c1e5b2d-do-not-print';
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('a whole owner session', () => {
  it('init, set from stdin, agent create, agent resolves, revoke, refused, audit shows it, verify, tamper', async () => {
    const cwd = tempDir();
    const dir = join(cwd, '.agent-vault');
    const key = ['--key-file', 'owner.key'];

    const init = await runCli(['init', ...key], { cwd });
    expect(init).toMatchObject({ code: 0, stdout: '' });
    expect(init.stderr).toContain(`Created a vault in ${dir}`);
    expect(statSync(join(cwd, 'owner.key')).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);

    const again = await runCli(['init', ...key], { cwd });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('(VAULT_EXISTS)');

    const status = await runCli(['status', '--json'], { cwd });
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ dir, unlock: { method: 'key-file' } });

    const set = await runCli(['set', 'openai-api-key', ...key], { cwd, input: `${CANARY}\n` });
    expect(set).toMatchObject({ code: 0, stdout: '' });
    expect(set.stderr).toContain('Stored "openai-api-key" (version 1)');
    await runCli(['set', 'anthropic-api-key', ...key], { cwd, input: 'sk-ant-other' });

    const list = await runCli(['list', ...key], { cwd });
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^NAME +VERSION +UPDATED +AGENTS\n/);
    expect(list.stdout).toContain('openai-api-key');

    const meta = await runCli(['get', 'openai-api-key', '--json', ...key], { cwd });
    expect(JSON.parse(meta.stdout)).toMatchObject({ name: 'openai-api-key', version: 1, agents: [] });

    // The one command that prints a value, because it was asked to; the trailing newline from
    // `echo` is not part of it, and none is added on a pipe.
    const reveal = await runCli(['get', 'openai-api-key', '--reveal', ...key], { cwd });
    expect(reveal).toEqual({ code: 0, stdout: CANARY, stderr: '' });

    const create = await runCli(['agent', 'create', 'research-bot', '--allow', 'openai-*', '--ttl', '1h', ...key], { cwd });
    expect(create.code).toBe(0);
    const token = create.stdout.trim();
    expect(create.stdout).toMatch(/^avt_[A-Za-z0-9_-]+\n$/);
    expect(create.stderr).toContain('AGENT_VAULT_TOKEN_FILE');
    expect(create.stderr).toContain('AGENT_VAULT_TOKEN');
    expect(create.stderr).toContain('It can read now: openai-api-key.');
    expect(create.stderr).not.toContain(token);

    const agents = await runCli(['agent', 'list', '--json', ...key], { cwd });
    expect(JSON.parse(agents.stdout)).toMatchObject([{ id: 'research-bot', status: 'active', allow: ['openai-*'], generation: 1 }]);

    expect(await resolveAsAgent(cwd, dir, token, 'openai-api-key')).toEqual({ ok: true, sha256: sha256(CANARY) });
    expect(await resolveAsAgent(cwd, dir, token, 'anthropic-api-key')).toMatchObject({ ok: false, code: 'ACCESS_DENIED', reason: 'not-granted' });

    const revoke = await runCli(['agent', 'revoke', 'research-bot', ...key], { cwd });
    expect(revoke).toMatchObject({ code: 0, stdout: '' });
    expect(await resolveAsAgent(cwd, dir, token, 'openai-api-key')).toMatchObject({ ok: false, code: 'ACCESS_DENIED', reason: 'revoked' });
    const revoked = await runCli(['agent', 'list', '--all', ...key], { cwd });
    expect(revoked.stdout).toMatch(/research-bot +revoked/);

    // The audit log shows all of it: the owner's changes, the agent's resolution and its refusal.
    const audit = await runCli(['audit', '--json', ...key], { cwd });
    expect(audit.code).toBe(0);
    const records = (JSON.parse(audit.stdout) as { actor: string; action: string; name?: string; outcome: string; reason?: string }[])
      .reverse().map(({ actor, action, name, outcome, reason }) => [actor, action, name, outcome, reason].filter(Boolean).join(' '));
    expect(records.filter((r) => !r.startsWith('owner vault.open'))).toEqual([
      'owner vault.create ok',
      'owner secret.set openai-api-key ok',
      'owner secret.set anthropic-api-key ok',
      'owner secret.resolve openai-api-key ok', // get --reveal
      'owner agent.create research-bot ok',
      'agent:research-bot secret.resolve openai-api-key ok',
      'agent:research-bot secret.resolve anthropic-api-key denied not-granted',
      'owner agent.revoke research-bot ok',
      'agent:research-bot secret.resolve openai-api-key denied revoked',
    ]);
    const table = await runCli(['audit', '--agent', 'research-bot', '--since', '1h', ...key], { cwd });
    expect(table.stdout.split('\n')[0]).toMatch(/^TIME +ACTOR +ACTION +NAME +OUTCOME$/);
    expect(table.stdout).toMatch(/agent:research-bot +secret\.resolve +openai-api-key +denied \(revoked\)\n/);
    expect(table.stdout).toMatch(/agent:research-bot +secret\.resolve +openai-api-key v1 +ok\n/);
    expect(table.stdout.trim().split('\n')).toHaveLength(4);
    const byName = await runCli(['audit', '--name', 'anthropic-api-key', '--json', ...key], { cwd });
    expect((JSON.parse(byName.stdout) as unknown[]).length).toBe(2);

    const verified = await runCli(['audit', 'verify', ...key], { cwd });
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stdout).toMatch(/^The audit log holds: \d+ records verified\.\nLast record: \d+:[0-9a-f]{64}\n$/);

    // Rewrite history: the refusal after revocation becomes a success.
    const log = join(dir, 'audit.jsonl');
    const original = readFileSync(log, 'utf8');
    const edited = original.replace('"outcome":"denied","reason":"revoked"', '"outcome":"ok"');
    expect(edited).not.toBe(original);
    writeFileSync(log, edited);
    const broken = await runCli(['audit', 'verify', '--json', ...key], { cwd });
    expect(broken.code).toBe(1);
    const report = JSON.parse(broken.stdout) as { ok: boolean; problem: { kind: string; seq: number } };
    expect(report).toMatchObject({ ok: false, problem: { kind: 'modified' } });
    expect(JSON.parse(broken.stderr)).toMatchObject({ error: { code: 'AUDIT' } });
    const plain = await runCli(['audit', 'verify', ...key], { cwd });
    expect(plain.code).toBe(1);
    expect(plain.stdout).toContain(`Problem: modified at record ${report.problem.seq}`);
    expect(plain.stderr).toContain('(AUDIT)');

    const rm = await runCli(['rm', 'anthropic-api-key', ...key], { cwd });
    expect(rm.code).toBe(0);
    const gone = await runCli(['get', 'anthropic-api-key', ...key], { cwd });
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('(SECRET_NOT_FOUND)');
  });

  it('agent rotate voids the old token; --token-file writes a new 0600 file and prints no token', async () => {
    const cwd = tempDir();
    const dir = join(cwd, '.agent-vault');
    const key = ['--key-file', 'owner.key'];
    await runCli(['init', ...key], { cwd });
    await runCli(['set', 'openai-api-key', ...key], { cwd, input: CANARY });
    const created = await runCli(['agent', 'create', 'bot', '--allow', 'openai-*', '--token-file', 'bot.token', ...key], { cwd });
    expect(created).toMatchObject({ code: 0, stdout: '' });
    expect(created.stderr).toContain(`AGENT_VAULT_TOKEN_FILE=${join(cwd, 'bot.token')}`);
    expect(statSync(join(cwd, 'bot.token')).mode & 0o777).toBe(0o600);
    const first = readFileSync(join(cwd, 'bot.token'), 'utf8').trim();
    expect(await resolveAsAgent(cwd, dir, first, 'openai-api-key')).toMatchObject({ ok: true });

    // An existing file is refused before the agent is touched, so no token is lost.
    const clash = await runCli(['agent', 'rotate', 'bot', '--token-file', 'bot.token', ...key], { cwd });
    expect(clash.code).toBe(2);
    expect(readFileSync(join(cwd, 'bot.token'), 'utf8').trim()).toBe(first);
    expect(await resolveAsAgent(cwd, dir, first, 'openai-api-key')).toMatchObject({ ok: true });

    const rotated = await runCli(['agent', 'rotate', 'bot', '--json', ...key], { cwd });
    expect(rotated.code).toBe(0);
    const { token, generation } = JSON.parse(rotated.stdout) as { token: string; generation: number };
    expect(generation).toBe(2);
    expect(await resolveAsAgent(cwd, dir, first, 'openai-api-key')).toMatchObject({ ok: false, reason: 'rotated' });
    expect(await resolveAsAgent(cwd, dir, token, 'openai-api-key')).toEqual({ ok: true, sha256: sha256(CANARY) });
    expect(existsSync(join(cwd, 'bot.token'))).toBe(true);

    // Removing the newest records leaves a valid chain; only an anchor kept elsewhere shows it.
    const verified = await runCli(['audit', 'verify', '--json', ...key], { cwd });
    const { last } = JSON.parse(verified.stdout) as { last: { seq: number; hash: string } };
    const anchor = ['--anchor', `${last.seq}:${last.hash}`];
    expect((await runCli(['audit', 'verify', ...anchor, ...key], { cwd })).code).toBe(0);
    const log = join(dir, 'audit.jsonl');
    writeFileSync(log, `${readFileSync(log, 'utf8').split('\n').slice(0, last.seq - 2).join('\n')}\n`);
    expect((await runCli(['audit', 'verify', ...key], { cwd })).code).toBe(0);
    const truncated = await runCli(['audit', 'verify', ...anchor, '--json', ...key], { cwd });
    expect(truncated.code).toBe(1);
    expect(JSON.parse(truncated.stdout)).toMatchObject({ ok: false, problem: { kind: 'truncated' } });
  });

  it('never prints the secret value except on stdout of get --reveal', () => {
    // Runs after the sessions above (tests in a file run in order) and checks everything they printed.
    expect(transcript.length).toBeGreaterThan(10);
    for (const { args, stdout, stderr } of transcript) {
      expect(stderr, `stderr of ${args.join(' ')}`).not.toContain(CANARY);
      const revealed = args[0] === 'get' && args.includes('--reveal');
      if (!revealed) expect(stdout, `stdout of ${args.join(' ')}`).not.toContain(CANARY);
    }
  });
});
