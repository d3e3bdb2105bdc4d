/**
 * A token given in AGENT_VAULT_TOKEN stays in /proc/<pid>/environ for the life of the process
 * (deleting it from process.env does not touch that copy): openVault() says so once, pointing to
 * AGENT_VAULT_TOKEN_FILE, and says nothing when the token comes from a file.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { openVault } from '../src/index.ts';
import { memoryBackend } from '../src/backends/memory.ts';
import { tempDir, testVault } from './_fixtures/index.ts';

afterEach(() => {
  vi.restoreAllMocks();
  delete process.env.AGENT_VAULT_TOKEN;
  delete process.env.AGENT_VAULT_TOKEN_FILE;
});

async function agentToken() {
  const backend = memoryBackend();
  const owner = await testVault({ backend });
  const { token } = await owner.createAgent('bot', { allow: ['*'], ttl: '1h' });
  return { backend, token };
}

const tokenWarnings = (warn: { mock: { calls: unknown[][] } }) =>
  warn.mock.calls.filter(([, options]) => (options as { code?: string } | undefined)?.code === 'AGENT_VAULT_TOKEN_IN_ENVIRONMENT');

describe('openVault() and AGENT_VAULT_TOKEN', () => {
  it('says nothing when the token comes from AGENT_VAULT_TOKEN_FILE', async () => {
    const { backend, token } = await agentToken();
    const file = join(tempDir('agent-vault-token-'), 'agent.token');
    writeFileSync(file, token, { mode: 0o600 });
    process.env.AGENT_VAULT_TOKEN_FILE = file;
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    await openVault({ backend });
    expect(tokenWarnings(warn)).toHaveLength(0);
  });

  it('warns once per process, with a code, pointing to AGENT_VAULT_TOKEN_FILE, never quoting the token', async () => {
    const { backend, token } = await agentToken();
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    for (let i = 0; i < 2; i++) {
      process.env.AGENT_VAULT_TOKEN = token;
      await openVault({ backend });
      expect(process.env.AGENT_VAULT_TOKEN).toBeUndefined();
    }
    const warnings = tokenWarnings(warn);
    expect(warnings).toHaveLength(1);
    const message = String(warnings[0]![0]);
    expect(message).toMatch(/\/proc\/<pid>\/environ.*AGENT_VAULT_TOKEN_FILE/s);
    expect(message).not.toContain(token);
    expect(message).not.toContain(token.slice(4, 24));
  });

  it.skipIf(process.platform !== 'linux')('the reason is real: /proc/<pid>/environ still holds it after process.env forgets it', () => {
    const value = `avt_${'x'.repeat(40)}`;
    const script = "delete process.env.AGENT_VAULT_TOKEN; process.stdout.write(String(require('node:fs').readFileSync('/proc/self/environ', 'latin1').includes(process.argv[1])))";
    const out = execFileSync(process.execPath, ['-e', script, value], { env: { PATH: process.env.PATH ?? '', AGENT_VAULT_TOKEN: value }, encoding: 'utf8' });
    expect(out).toBe('true');
  });
});
