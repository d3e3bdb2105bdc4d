/**
 * What a newcomer meets in the first hour, through the built CLI: help without a command, the
 * version, "did you mean", every variable in the help, the vault kept out of git, a pasted key
 * refused as a name (never echoed, never audited), agents listed, shown and removed, and the
 * expiry shown as given.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './_cli.ts';
import { tempDir } from '../_fixtures/index.ts';

const root = join(import.meta.dirname, '..', '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts')).map((f) => join(dir, f));
}

const PASTED_KEY = 'sk-proj-4f9QzX81mKc3TbW0aLr7Yp2Ns6Vd';

async function keyVault() {
  const cwd = tempDir();
  const key = ['--key-file', 'owner.key'];
  expect((await runCli(['init', ...key], { cwd })).code).toBe(0);
  return { cwd, key };
}

describe('finding your way', () => {
  it('a bare agent-vault prints the help (exit 0), as --help does', async () => {
    const cwd = tempDir();
    const bare = await runCli([], { cwd });
    expect(bare).toMatchObject({ code: 0, stderr: '' });
    expect(bare.stdout).toBe((await runCli(['--help'], { cwd })).stdout);
  });

  it('-v and --version print the package version', async () => {
    const cwd = tempDir();
    const { version } = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8'));
    expect(await runCli(['-v'], { cwd })).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
    expect((await runCli(['--version'], { cwd })).stdout).toBe(`${version}\n`);
  });

  it('the main help names every variable the code reads, the agent side included', async () => {
    const { stdout } = await runCli(['--help'], { cwd: tempDir() });
    // Every AGENT_VAULT_* read from the environment anywhere in the sources, found by reading them,
    // so a new variable without a help line fails here. Warning codes and exec's internal hand-off
    // are names, not settings.
    const read = new Set<string>();
    for (const file of sourceFiles(join(root, 'src')).concat(sourceFiles(join(root, 'adapters')))) {
      for (const match of readFileSync(file, 'utf8').matchAll(/env(?:\.|\[')(AGENT_VAULT_[A-Z_]+)|'(AGENT_VAULT_[A-Z_]+)'\]/g)) {
        read.add((match[1] ?? match[2])!);
      }
    }
    read.delete('AGENT_VAULT_EXEC_HANDOFF');
    expect(read.size).toBeGreaterThan(8);
    for (const variable of [...read, 'NO_COLOR', 'FORCE_COLOR']) expect(stdout, variable).toMatch(new RegExp(`\\b${variable}\\b`));
  });

  it.each([
    [['lsit'], 'Did you mean `agent-vault list`?'],
    [['agnet'], 'Did you mean `agent-vault agent`?'],
    [['agent', 'craete'], 'Did you mean `agent-vault agent create`?'],
    [['audti'], 'Did you mean `agent-vault audit`?'],
  ])('%j: did you mean', async (args, hint) => {
    const result = await runCli(args, { cwd: tempDir() });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(hint);
  });

  it('no suggestion for what is not close to a command, and a value-like word is not echoed', async () => {
    const result = await runCli([PASTED_KEY], { cwd: tempDir() });
    expect(result.code).toBe(2);
    expect(result.stderr).not.toContain('Did you mean');
    expect(result.stderr).not.toContain(PASTED_KEY);
  });

  it('a misspelt secret name: the closest name is suggested', async () => {
    const { cwd, key } = await keyVault();
    await runCli(['set', 'openai-api-key', ...key], { cwd, input: 'sk-value-one' });
    for (const args of [['get', 'openai-api-kye'], ['get', 'openai-api-kye', '--reveal'], ['rm', 'openai-api-kye']]) {
      const result = await runCli([...args, ...key], { cwd });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('(SECRET_NOT_FOUND)');
      expect(result.stderr).toContain('Did you mean "openai-api-key"?');
    }
  });
});

describe('init', () => {
  it('writes a .gitignore that keeps the whole vault directory out of git', async () => {
    const { cwd } = await keyVault();
    const ignore = readFileSync(join(cwd, '.agent-vault', '.gitignore'), 'utf8');
    expect(ignore.split('\n')).toContain('*');
  });

  it('says so when a vault exists, in CLI terms', async () => {
    const { cwd, key } = await keyVault();
    const again = await runCli(['init', ...key], { cwd });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`A vault already exists in ${join(cwd, '.agent-vault')}`);
    expect(again.stderr).not.toMatch(/openVault|createVault/);
  });
});

describe('a key pasted where a name belongs', () => {
  it('is refused before any prompt, never echoed, and never reaches the audit log', async () => {
    const { cwd, key } = await keyVault();
    for (const args of [['set', PASTED_KEY], ['get', PASTED_KEY], ['rm', PASTED_KEY],
      ['agent', 'create', 'bot', '--allow', PASTED_KEY]]) {
      const result = await runCli([...args, ...key], { cwd, input: 'value' });
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toContain('looks like an API key or token');
      expect(result.stdout + result.stderr).not.toContain(PASTED_KEY);
      expect(result.stdout + result.stderr).not.toContain(PASTED_KEY.slice(8, 20));
    }
    expect(readFileSync(join(cwd, '.agent-vault', 'audit.jsonl'), 'utf8')).not.toContain(PASTED_KEY.slice(8, 20));
    // Names people choose still pass, dashes, digits and provider words included.
    for (const name of ['sk-openai-production', 'aws-key-2026', 'github_token_ci', 'OPENAI_API_KEY']) {
      expect((await runCli(['set', name, ...key], { cwd, input: 'v' })).code, name).toBe(0);
    }
  });
});

describe('agents', () => {
  it('list hides revoked and expired agents unless --all; show and rm; (in 30d) as given', async () => {
    const { cwd, key } = await keyVault();
    await runCli(['set', 'openai-api-key', ...key], { cwd, input: 'sk-value' });
    const created = await runCli(['agent', 'create', 'bot', '--allow', 'openai-*', '--ttl', '30d', ...key], { cwd });
    expect(created.stderr).toContain('(in 30d)');
    const again = await runCli(['agent', 'create', 'bot', '--allow', 'openai-*', ...key], { cwd });
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('`agent-vault agent rotate bot`');
    expect(again.stderr).not.toMatch(/rotateAgent|revokeAgent/);
    await runCli(['agent', 'create', 'old', '--allow', 'x', ...key], { cwd });
    await runCli(['agent', 'create', 'gone', '--allow', 'x', ...key], { cwd });
    await runCli(['agent', 'revoke', 'old', ...key], { cwd });
    const removed = await runCli(['agent', 'rm', 'gone', ...key], { cwd });
    expect(removed.code, removed.stderr).toBe(0);

    const active = await runCli(['agent', 'list', ...key], { cwd });
    expect(active.stdout).toContain('bot');
    expect(active.stdout).toContain('(in 30d)');
    expect(active.stdout).not.toMatch(/\bold\b|\bgone\b/);
    expect(active.stderr).toContain('2 expired or revoked agents not shown: agent-vault agent list --all');
    const all = JSON.parse((await runCli(['agent', 'list', '--all', '--json', ...key], { cwd })).stdout) as { id: string; status: string }[];
    expect(all.map((agent) => [agent.id, agent.status])).toEqual([['bot', 'active'], ['gone', 'revoked'], ['old', 'revoked']]);

    const show = JSON.parse((await runCli(['agent', 'show', 'bot', '--json', ...key], { cwd })).stdout);
    expect(show).toMatchObject({ id: 'bot', status: 'active', allow: ['openai-*'], secrets: ['openai-api-key'] });
    expect(JSON.stringify(show)).not.toContain('avt_');
    const typo = await runCli(['agent', 'show', 'bto', ...key], { cwd });
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('Did you mean "bot"?');
  });

  it('--force applies only to --token-file', async () => {
    const { cwd, key } = await keyVault();
    const result = await runCli(['agent', 'create', 'bot', '--allow', 'x', '--force', ...key], { cwd });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--force only applies to --token-file');
  });
});
