/**
 * Passphrase vaults, at the real Argon2id cost (calibrated by init to about 0.5 s), so these are
 * the slow CLI tests: a handful of unlocks in all. Everything else uses --key-file.
 */
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { canUseTerminal, runCli, runInTerminal } from './_cli.ts';
import { tempDir } from '../_fixtures/index.ts';

const PASSPHRASE = 'correct horse battery staple';
const CANARY = 'sk-canary-passphrase-2b8d7e61-do-not-print';

function passphraseFile(dir: string, text: string, mode = 0o600): string {
  const path = join(dir, `passphrase-${Math.random().toString(36).slice(2)}`);
  writeFileSync(path, text, { mode });
  chmodSync(path, mode);
  return path;
}

describe('AGENT_VAULT_PASSPHRASE_FILE', () => {
  it('creates and unlocks a passphrase vault without a terminal', async () => {
    const cwd = tempDir();
    const env = { AGENT_VAULT_PASSPHRASE_FILE: passphraseFile(cwd, `${PASSPHRASE}\n`) };
    const init = await runCli(['init'], { cwd, env });
    expect(init.code, init.stderr).toBe(0);
    expect(init.stderr).toContain('unlocked with your passphrase');

    const status = await runCli(['status', '--json'], { cwd });
    const { unlock } = JSON.parse(status.stdout) as { unlock: { method: string; kdf: string; memlimitMiB: number } };
    expect(unlock).toMatchObject({ method: 'passphrase', kdf: 'argon2id', memlimitMiB: 64 });

    expect((await runCli(['set', 'openai-api-key'], { cwd, env, input: CANARY })).code).toBe(0);
    // The trailing newline in the file is not part of the passphrase: the same one without it works.
    const exact = { AGENT_VAULT_PASSPHRASE_FILE: passphraseFile(cwd, PASSPHRASE) };
    expect(await runCli(['get', 'openai-api-key', '--reveal'], { cwd, env: exact })).toEqual({ code: 0, stdout: CANARY, stderr: '' });

    const wrong = await runCli(['list'], { cwd, env: { AGENT_VAULT_PASSPHRASE_FILE: passphraseFile(cwd, 'wrong horse') } });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('Wrong passphrase');
    expect(wrong.stderr).toContain('(ACCESS_DENIED)');

    // Refused before any Argon2id work: a shared file, no terminal, a key file for a passphrase vault.
    const shared = await runCli(['list'], { cwd, env: { AGENT_VAULT_PASSPHRASE_FILE: passphraseFile(cwd, PASSPHRASE, 0o644) } });
    expect(shared.code).toBe(2);
    expect(shared.stderr).toContain('chmod 600');
    const noTerminal = await runCli(['list'], { cwd });
    expect(noTerminal.code).toBe(2);
    expect(noTerminal.stderr).toContain('No terminal to ask on');
    expect(noTerminal.stderr).toContain('AGENT_VAULT_PASSPHRASE_FILE');
    const keyFile = await runCli(['list', '--key-file', 'k'], { cwd });
    expect(keyFile.code).toBe(2);
    expect(keyFile.stderr).toContain('drop --key-file');

    for (const result of [init, status, wrong, shared, noTerminal, keyFile]) {
      expect(result.stdout + result.stderr).not.toContain(PASSPHRASE);
    }
  });
});

describe.skipIf(!canUseTerminal)('hidden prompts on a terminal', () => {
  it('init asks twice, set asks for the value, and nothing typed is echoed', async () => {
    const cwd = tempDir();
    const mismatch = await runInTerminal(['init'], [PASSPHRASE, 'something else'], { cwd });
    expect(mismatch.code).toBe(2);
    expect(mismatch.output).toContain('The two passphrases differ; nothing was created.');
    expect(existsSync(join(cwd, '.agent-vault'))).toBe(false);

    const init = await runInTerminal(['init'], [PASSPHRASE, PASSPHRASE], { cwd });
    expect(init.code, init.output).toBe(0);
    expect(init.output).toContain('New vault passphrase: ');
    expect(init.output).toContain('Repeat the passphrase: ');

    const set = await runInTerminal(['set', 'openai-api-key'], [PASSPHRASE, CANARY], { cwd });
    expect(set.code, set.output).toBe(0);
    expect(set.output).toContain('Value for openai-api-key (hidden): ');
    expect(set.output).toContain('Stored "openai-api-key" (version 1)');
    for (const { output } of [mismatch, init, set]) {
      expect(output).not.toContain(PASSPHRASE);
      expect(output).not.toContain(CANARY);
    }

    // Ctrl-C at the prompt: exit 130, nothing changed.
    const cancelled = await runInTerminal(['set', 'other'], ['\u0003'], { cwd });
    expect(cancelled.code).toBe(130);

    // The passphrase typed on the terminal is the one a file gives.
    const env = { AGENT_VAULT_PASSPHRASE_FILE: passphraseFile(cwd, PASSPHRASE) };
    expect((await runCli(['get', 'openai-api-key', '--reveal'], { cwd, env })).stdout).toBe(CANARY);
  });
});
