/**
 * `agent rotate --grace` through the built CLI, with agents in separate processes using the
 * built package: the running agent's old token keeps working, the new one works, `agent list`
 * shows the grace, a revocation ends both; a bad duration is a usage error that changes nothing.
 * (The end of the grace itself is tested with a controlled clock in test/grace.test.ts.)
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveAsAgent, runCli } from './_cli.ts';
import { tempDir } from '../_fixtures/index.ts';

const CANARY = 'sk-canary-grace-cli-4e1b9a';
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('agent rotate --grace', () => {
  it('keeps the old token working beside the new one, shows it in agent list, and revoke ends both', async () => {
    const cwd = tempDir();
    const dir = join(cwd, '.agent-vault');
    const key = ['--key-file', 'owner.key'];
    await runCli(['init', ...key], { cwd });
    await runCli(['set', 'openai-api-key', ...key], { cwd, input: CANARY });
    const created = await runCli(['agent', 'create', 'bot', '--allow', 'openai-*', '--json', ...key], { cwd });
    const { token: old } = JSON.parse(created.stdout) as { token: string };

    const bad = await runCli(['agent', 'rotate', 'bot', '--grace', 'soon', ...key], { cwd });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('Invalid grace');
    expect(await resolveAsAgent(cwd, dir, old)).toEqual({ ok: true, sha256: sha256(CANARY) });

    const rotated = await runCli(['agent', 'rotate', 'bot', '--grace', '1h', '--json', ...key], { cwd });
    expect(rotated.code).toBe(0);
    const { token, generation, createdAt, previous } = JSON.parse(rotated.stdout) as {
      token: string; generation: number; createdAt: string; previous: { generation: number; until: string };
    };
    expect(generation).toBe(2);
    expect(previous.generation).toBe(1);
    expect(Date.parse(previous.until) - Date.parse(createdAt)).toBe(60 * 60_000);
    expect(rotated.stderr).toContain('The previous token keeps working until');
    expect(rotated.stderr).not.toContain(token);
    expect(await resolveAsAgent(cwd, dir, old)).toEqual({ ok: true, sha256: sha256(CANARY) });
    expect(await resolveAsAgent(cwd, dir, token)).toEqual({ ok: true, sha256: sha256(CANARY) });

    const list = await runCli(['agent', 'list', ...key], { cwd });
    expect(list.stdout).toMatch(/\b2 \(1 until /);

    expect((await runCli(['agent', 'revoke', 'bot', ...key], { cwd })).code).toBe(0);
    expect(await resolveAsAgent(cwd, dir, old)).toMatchObject({ ok: false, reason: 'revoked' });
    expect(await resolveAsAgent(cwd, dir, token)).toMatchObject({ ok: false, reason: 'revoked' });
  });
});
