/**
 * The owner's month, through the built CLI: passwd, a mistyped passphrase asked again, the
 * minimum strength, shell completion, and doctor.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/commands/index.ts';
import { canUseTerminal, resolveAsAgent, runCli, runInTerminal } from './_cli.ts';
import { tempDir } from '../_fixtures/index.ts';

const PASSPHRASE = 'correct horse battery staple';
const NEW_PASSPHRASE = 'a brand new passphrase, much longer';
const KEY = 'sk-owner-tools-9d2f5a7c1e3b-do-not-print';
/** Keys shaped like real ones (random bodies), which `scan` and `doctor` must recognise. */
const REAL_LOOKING = {
  openai: 'sk-proj-Zq8vR2mK7xP4nL9wT3cY6bH1jF5gD0sAeU7i',
  anthropic: 'sk-ant-api03-Pw4kX9zQ2rT7mV1nB6cY3hJ8gF5dS0aLeU2oI7uKq',
};

function secretFile(dir: string, text: string): string {
  const path = join(dir, `f-${Math.random().toString(36).slice(2)}`);
  writeFileSync(path, text, { mode: 0o600 });
  return path;
}

describe('passwd', () => {
  it('re-locks the vault: the old passphrase stops working, tokens and secrets stay valid; a weak one is refused', async () => {
    const cwd = tempDir();
    const old = { AGENT_VAULT_PASSPHRASE_FILE: secretFile(cwd, PASSPHRASE) };
    expect((await runCli(['init'], { cwd, env: old })).code).toBe(0);
    await runCli(['set', 'openai-api-key'], { cwd, env: old, input: KEY });
    const token = (await runCli(['agent', 'create', 'bot', '--allow', 'openai-*'], { cwd, env: old })).stdout.trim();

    const weak = await runCli(['passwd'], { cwd, env: { ...old, AGENT_VAULT_NEW_PASSPHRASE_FILE: secretFile(cwd, 'hunter2') } });
    expect(weak.code).toBe(2);
    expect(weak.stderr).toContain('too weak');
    expect(weak.stderr).toContain('Nothing was changed');

    const changed = await runCli(['passwd'], { cwd, env: { ...old, AGENT_VAULT_NEW_PASSPHRASE_FILE: secretFile(cwd, NEW_PASSPHRASE) } });
    expect(changed.code, changed.stderr).toBe(0);
    expect(changed.stderr).toContain('Passphrase changed');
    const refused = await runCli(['list'], { cwd, env: old });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('Wrong passphrase');
    const fresh = { AGENT_VAULT_PASSPHRASE_FILE: secretFile(cwd, NEW_PASSPHRASE) };
    expect((await runCli(['get', 'openai-api-key', '--reveal'], { cwd, env: fresh })).stdout).toBe(KEY);
    expect(await resolveAsAgent(cwd, join(cwd, '.agent-vault'), token)).toMatchObject({ ok: true });
    const audit = await runCli(['audit', '--json'], { cwd, env: fresh });
    expect(audit.stdout).toContain('"action":"vault.rekey"');
    expect((await runCli(['audit', 'verify'], { cwd, env: fresh })).code).toBe(0);
    for (const result of [weak, changed, refused, audit]) {
      expect(result.stdout + result.stderr).not.toContain(NEW_PASSPHRASE);
      expect(result.stdout + result.stderr).not.toContain(KEY);
    }
  }, 60_000);

  it('moves a key-file vault to a new key file', async () => {
    const cwd = tempDir();
    await runCli(['init', '--key-file', 'a.key'], { cwd });
    expect((await runCli(['passwd', '--key-file', 'a.key', '--new-key-file', 'b.key'], { cwd })).code).toBe(0);
    expect((await runCli(['list', '--key-file', 'a.key'], { cwd })).code).toBe(1);
    expect((await runCli(['list', '--key-file', 'b.key'], { cwd })).code).toBe(0);
  });

  it('init refuses a weak passphrase from a file, and creates nothing', async () => {
    const cwd = tempDir();
    for (const weak of ['tiny7', 'zzzzzzzzzzzzzzzzzzzz', 'qwqwqwqwqwqwqwqw']) {
      const result = await runCli(['init'], { cwd, env: { AGENT_VAULT_PASSPHRASE_FILE: secretFile(cwd, weak) } });
      expect(result.code, weak).toBe(2);
      expect(result.stderr).toContain('too weak');
      expect(result.stderr).not.toContain(weak);
    }
    expect((await runCli(['status'], { cwd })).code).toBe(1);
  });
});

describe.skipIf(!canUseTerminal)('a mistyped passphrase on the terminal', () => {
  it('is asked again, up to three times in all', async () => {
    const cwd = tempDir();
    const env = { AGENT_VAULT_PASSPHRASE_FILE: secretFile(cwd, PASSPHRASE) };
    await runCli(['init'], { cwd, env });
    const second = await runInTerminal(['list'], ['wrong passphrase one', PASSPHRASE], { cwd });
    expect(second.code, second.output).toBe(0);
    expect(second.output).toContain('Wrong passphrase, try again (2 of 3). Vault passphrase: ');
    const never = await runInTerminal(['list'], ['wrong one', 'wrong two', 'wrong three', PASSPHRASE], { cwd });
    expect(never.code).toBe(1);
    expect(never.output).toContain('(3 of 3)');
    expect(never.output).toContain('(ACCESS_DENIED)');
    expect(never.output.match(/Vault passphrase: /g)).toHaveLength(3);
    for (const { output } of [second, never]) expect(output).not.toContain('wrong');
  }, 60_000);

  it('init on the terminal refuses a weak passphrase', async () => {
    const cwd = tempDir();
    const result = await runInTerminal(['init'], ['tiny', 'tiny'], { cwd });
    expect(result.code).toBe(2);
    expect(result.output).toContain('too weak');
  });
});

describe('completion', () => {
  const complete = (script: string, words: string[]) => execFileSync('bash', ['-c',
    `${script}\nCOMP_WORDS=(${words.map((word) => `'${word}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _agent_vault; printf '%s\\n' "\${COMPREPLY[@]}"`,
  ], { encoding: 'utf8' }).trim().split('\n');

  it('bash completes every command, subcommand and option', async () => {
    const { stdout: script, code } = await runCli(['completion', 'bash'], { cwd: tempDir() });
    expect(code).toBe(0);
    const top = complete(script, ['agent-vault', '']);
    for (const command of COMMANDS) expect(top).toContain(command.name.split(' ')[0]);
    const agentSubs = COMMANDS.filter((c) => c.name.startsWith('agent ')).map((c) => c.name.slice(6));
    expect(complete(script, ['agent-vault', 'agent', '']).sort()).toEqual(agentSubs.sort());
    expect(complete(script, ['agent-vault', 'agent', 'create', 'bot', '--t'])).toEqual(['--ttl', '--token-file']);
    expect(complete(script, ['agent-vault', '--dir', 'x', 'li'])).toEqual(['list']);
    expect(complete(script, ['agent-vault', 'audit', ''])).toEqual(['verify']);
    // Three-word commands: `broker key create` and its options.
    expect(complete(script, ['agent-vault', 'broker', 'key', ''])).toEqual(['create', 'revoke', 'list']);
    expect(complete(script, ['agent-vault', 'broker', 'key', 'create', 'k', '--ro'])).toEqual(['--route']);
  });

  it('zsh and fish scripts name every command; an unknown shell is a usage error', async () => {
    const cwd = tempDir();
    const zsh = (await runCli(['completion', 'zsh'], { cwd })).stdout;
    expect(zsh).toContain('bashcompinit');
    expect(zsh).toContain('complete -F _agent_vault agent-vault');
    const fish = (await runCli(['completion', 'fish'], { cwd })).stdout;
    for (const command of COMMANDS) {
      const words = command.name.split(' ');
      expect(fish).toContain(`-n '__agent_vault_is "${words.slice(0, -1).join(' ')}"' -a ${words.at(-1)} -d '${command.summary.replace(/'/g, "\\'")}'`);
    }
    const tcsh = await runCli(['completion', 'tcsh'], { cwd });
    expect(tcsh.code).toBe(2);
  });
});

describe('doctor', () => {
  it('finds keys in the environment and .env, loose modes, an unignored vault in git, a token variable; never a value', async () => {
    const cwd = tempDir();
    const key = ['--key-file', 'owner.key'];
    await runCli(['init', ...key], { cwd });
    mkdirSync(join(cwd, '.git'));
    rmSync(join(cwd, '.agent-vault', '.gitignore'));
    chmodSync(join(cwd, '.agent-vault', 'audit.jsonl'), 0o644);
    writeFileSync(join(cwd, '.env'), `# keys\nOPENAI_API_KEY=${REAL_LOOKING.openai}\nDEBUG=1\n`);
    const env = { ANTHROPIC_API_KEY: REAL_LOOKING.anthropic, AGENT_VAULT_TOKEN: 'avt_x' };
    const result = await runCli(['doctor', '--json', ...key], { cwd, env });
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as { findings: { check: string; status: string; message: string }[] };
    const status = Object.fromEntries(report.findings.map((f) => [f.check, f]));
    expect(status.environment).toMatchObject({ status: 'warn', message: expect.stringContaining('ANTHROPIC_API_KEY') });
    expect(status.files).toMatchObject({ status: 'warn', message: expect.stringContaining(`${join(cwd, '.env')}:2 OPENAI_API_KEY`) });
    expect(status.permissions).toMatchObject({ status: 'warn', message: expect.stringContaining('audit.jsonl (0644)') });
    expect(status.git).toMatchObject({ status: 'warn', message: expect.stringContaining('not ignored') });
    expect(status['agent token']).toMatchObject({ status: 'warn' });
    expect(status.node).toMatchObject({ status: 'ok' });
    for (const value of Object.values(REAL_LOOKING)) expect(result.stdout + result.stderr).not.toContain(value.slice(8, 30));
    expect(result.stdout + result.stderr).not.toContain('avt_x');

    // Fixed, it says so.
    rmSync(join(cwd, '.env'));
    chmodSync(join(cwd, '.agent-vault', 'audit.jsonl'), 0o600);
    writeFileSync(join(cwd, '.agent-vault', '.gitignore'), '*\n');
    const clean = await runCli(['doctor', ...key], { cwd });
    expect(clean.stdout).not.toContain('warn');
    expect(clean.stderr).toContain('Nothing to fix.');
  });
});

describe('backup and restore', () => {
  it('a backup restores into an empty directory with the same secrets, agents and tokens; a changed one is refused', async () => {
    const cwd = tempDir();
    const key = ['--key-file', 'owner.key'];
    await runCli(['init', ...key], { cwd });
    await runCli(['set', 'openai-api-key', ...key], { cwd, input: KEY });
    const token = (await runCli(['agent', 'create', 'bot', '--allow', 'openai-*', ...key], { cwd })).stdout.trim();
    const made = await runCli(['backup', 'vault.avb', ...key], { cwd });
    expect(made.code, made.stderr).toBe(0);
    const file = readFileSync(join(cwd, 'vault.avb'));
    expect(statSync(join(cwd, 'vault.avb')).mode & 0o777).toBe(0o600);
    // Sealed as a whole: no name, no agent id, no record key in the clear.
    for (const text of [KEY, 'openai-api-key', 'bot']) expect(file.toString('utf8')).not.toContain(text);
    expect((await runCli(['backup', 'vault.avb', ...key], { cwd })).stderr).toContain('never overwritten');

    const restoredDir = join(cwd, 'restored');
    const restored = await runCli(['restore', 'vault.avb', '--dir', restoredDir, ...key], { cwd });
    expect(restored.code, restored.stderr).toBe(0);
    expect((await runCli(['get', 'openai-api-key', '--reveal', '--dir', restoredDir, ...key], { cwd })).stdout).toBe(KEY);
    expect(await resolveAsAgent(cwd, restoredDir, token)).toMatchObject({ ok: true });
    // Not over an existing vault.
    const over = await runCli(['restore', 'vault.avb', ...key], { cwd });
    expect(over.code).toBe(1);
    expect(over.stderr).toContain('(VAULT_EXISTS)');

    // One flipped character in the sealed part: refused, nothing written.
    const text = file.toString('utf8');
    const at = text.length - 10;
    const flipped = text.slice(0, at) + (text[at] === 'A' ? 'B' : 'A') + text.slice(at + 1);
    writeFileSync(join(cwd, 'flipped.avb'), flipped);
    const tampered = await runCli(['restore', 'flipped.avb', '--dir', join(cwd, 'tampered'), ...key], { cwd });
    expect(tampered.code).toBe(1);
    expect(tampered.stderr).toContain('(INTEGRITY)');
    expect((await runCli(['status', '--dir', join(cwd, 'tampered')], { cwd })).code).toBe(1);
    // Another vault's key cannot open it.
    await runCli(['init', '--key-file', 'other.key', '--dir', join(cwd, 'other')], { cwd });
    const foreign = await runCli(['restore', 'vault.avb', '--dir', join(cwd, 'fresh'), '--key-file', 'other.key'], { cwd });
    expect(foreign.code).toBe(1);
    expect(foreign.stderr).toContain('(ACCESS_DENIED)');
  });

  it('an old backup in place of a newer vault is refused unless --allow-rollback; the revoked agent is then active again', async () => {
    const cwd = tempDir();
    const key = ['--key-file', 'owner.key'];
    await runCli(['init', ...key], { cwd });
    await runCli(['set', 'openai-api-key', ...key], { cwd, input: KEY });
    await runCli(['agent', 'create', 'bot', '--allow', 'openai-*', ...key], { cwd });
    expect((await runCli(['backup', 'old.avb', ...key], { cwd })).code).toBe(0);
    await runCli(['agent', 'revoke', 'bot', ...key], { cwd });
    rmSync(join(cwd, '.agent-vault'), { recursive: true });
    const refused = await runCli(['restore', 'old.avb', ...key], { cwd });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('(INTEGRITY)');
    expect(refused.stderr).toContain('--allow-rollback');
    expect((await runCli(['status'], { cwd })).code).toBe(1);
    const allowed = await runCli(['restore', 'old.avb', '--allow-rollback', ...key], { cwd });
    expect(allowed.code, allowed.stderr).toBe(0);
    const agents = JSON.parse((await runCli(['agent', 'list', '--all', '--json', ...key], { cwd })).stdout);
    expect(agents.map((a: { id: string; status: string }) => [a.id, a.status])).toEqual([['bot', 'active']]);
  });
});
