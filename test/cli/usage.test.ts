import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli, transcript } from './_cli.ts';
import { tempDir } from '../_fixtures/index.ts';

const CANARY = 'sk-canary-argv-91c4e0aa-do-not-print';
const key = ['--key-file', 'owner.key'];
let cwd: string;

beforeAll(async () => {
  cwd = tempDir();
  expect((await runCli(['init', ...key], { cwd })).code).toBe(0);
});

describe('secret values on the command line', () => {
  it.each([
    ['set NAME VALUE', ['set', 'openai-api-key', CANARY]],
    ['set NAME=VALUE', ['set', `openai-api-key=${CANARY}`]],
    ['set NAME -- VALUE', ['set', 'openai-api-key', '--', CANARY]],
    ['set --value=VALUE', ['set', 'openai-api-key', `--value=${CANARY}`]],
    ['set NAME --VALUE', ['set', 'openai-api-key', `--${CANARY}`]],
  ])('refuses %s (exit 2), explains why, stores nothing and never echoes the value', async (_, args) => {
    const result = await runCli([...args, ...key], { cwd, input: 'from-stdin' });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).not.toContain(CANARY);
    expect(result.stderr).toContain('(USAGE)');
    const list = await runCli(['list', '--json', ...key], { cwd });
    expect(JSON.parse(list.stdout)).toEqual([]);
  });

  it('names shell history and ps as the reason', async () => {
    const result = await runCli(['set', 'openai-api-key', CANARY, ...key], { cwd });
    expect(result.stderr).toContain('shell history');
    expect(result.stderr).toContain('ps');
    expect(result.stderr).toContain('hidden prompt');
  });

  it('refuses an empty value on stdin', async () => {
    const empty = await runCli(['set', 'x', ...key], { cwd, input: '\n' });
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('empty');
  });
});

describe('exit codes', () => {
  it.each<[string, number, string[], string]>([
    ['ok', 0, ['list', ...key], ''],
    ['no command', 2, [], 'Missing command'],
    ['unknown command', 2, ['frobnicate'], 'Unknown command'],
    ['group without subcommand', 2, ['agent'], 'needs a subcommand'],
    ['unknown subcommand', 2, ['agent', 'explode'], 'Unknown command'],
    ['unknown option', 2, ['list', '--frob'], 'Unknown option --frob'],
    ['option of another command', 2, ['list', '--ttl', '1h'], 'does not apply'],
    ['missing argument', 2, ['get'], 'Missing NAME'],
    ['extra argument', 2, ['rm', 'a', 'b'], 'takes only NAME'],
    ['option without its value', 2, ['list', '--dir'], 'needs a value'],
    ['boolean option with a value', 2, ['list', '--json=yes'], 'takes no value'],
    ['agent without --allow', 2, ['agent', 'create', 'bot', ...key], '--allow'],
    ['bad duration', 2, ['agent', 'create', 'bot', '--allow', 'x', '--ttl', 'soon', ...key], 'Invalid ttl'],
    ['bad agent id', 2, ['agent', 'create', 'Bad Id', '--allow', 'x', ...key], 'agent id'],
    ['key-file vault without --key-file', 2, ['list'], 'pass --key-file'],
    ['secret not found', 1, ['get', 'missing', ...key], '(SECRET_NOT_FOUND)'],
    ['unknown agent', 2, ['agent', 'revoke', 'nobody', ...key], 'No agent "nobody"'],
    ['no vault', 1, ['list', '--dir', 'elsewhere', ...key], '(VAULT_NOT_FOUND)'],
    ['status without a vault', 1, ['status', '--dir', 'elsewhere'], '(VAULT_NOT_FOUND)'],
    ['wrong key file', 2, ['list', '--key-file', 'other.key'], 'Cannot read the key file'],
  ])('%s → exit %i', async (_, code, args, message) => {
    const result = await runCli(args, { cwd });
    expect(result.code, result.stderr).toBe(code);
    if (message) expect(result.stderr).toContain(message);
    if (code !== 0) {
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(/^error: /);
      expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace without --debug
    }
  });

  it('a key file of another vault is ACCESS_DENIED (exit 1)', async () => {
    const other = tempDir();
    await runCli(['init', '--key-file', 'other.key'], { cwd: other });
    const result = await runCli(['list', '--key-file', join(other, 'other.key')], { cwd });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('(ACCESS_DENIED)');
  });

  it('does not create a directory when there is no vault', async () => {
    await runCli(['list', '--dir', 'nowhere', ...key], { cwd });
    expect(existsSync(join(cwd, 'nowhere'))).toBe(false);
  });

  it('--debug adds the stack trace', async () => {
    const result = await runCli(['get', 'missing', '--debug', ...key], { cwd });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/SecretNotFoundError: No secret named "missing"[^\n]*\n\s+at /);
  });

  it('--json reports errors as JSON on stderr', async () => {
    const result = await runCli(['get', 'missing', '--json', ...key], { cwd });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(JSON.parse(result.stderr)).toEqual({
      error: { code: 'SECRET_NOT_FOUND', message: expect.stringContaining('missing') },
    });
  });

  it('--version prints the package version', async () => {
    const result = await runCli(['--version'], { cwd });
    expect(result).toMatchObject({ code: 0, stdout: expect.stringMatching(/^\d+\.\d+\.\d+/) });
  });
});

describe('colour', () => {
  it('only when forced or on a terminal, and never with NO_COLOR', async () => {
    const plain = await runCli(['frobnicate'], { cwd });
    expect(plain.stderr).not.toContain('\u001b[');
    const forced = await runCli(['frobnicate'], { cwd, env: { FORCE_COLOR: '1' } });
    expect(forced.stderr).toContain('\u001b[31merror:\u001b[39m');
    const noColor = await runCli(['frobnicate'], { cwd, env: { FORCE_COLOR: '1', NO_COLOR: '1' } });
    expect(noColor.stderr).not.toContain('\u001b[');
  });
});

it('echoes a mistyped command or option, but nothing that looks like a value', async () => {
  expect((await runCli(['lsit'], { cwd })).stderr).toContain('Unknown command "lsit"');
  expect((await runCli(['list', '--frob'], { cwd })).stderr).toContain('Unknown option --frob');
  for (const args of [[CANARY], ['agent', CANARY], ['list', `--${CANARY}`], ['list', `-${CANARY}`]]) {
    const result = await runCli(args, { cwd });
    expect(result.code).toBe(2);
    expect(result.stderr).not.toContain(CANARY.slice(4));
  }
  expect((await runCli(['list', `--${CANARY}`], { cwd })).stderr).toContain('not shown');
});

it('printed no argv canary anywhere', () => {
  for (const { args, stdout, stderr } of transcript) {
    expect(stdout + stderr, args.join(' ')).not.toContain(CANARY);
  }
});
