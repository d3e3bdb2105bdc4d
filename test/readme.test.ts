/**
 * The README's code runs as written: the owner's shell commands (with the built CLI standing in
 * for `npx agent-vault`), the agent's TypeScript against a local stand-in provider, and the API
 * example. Every ```ts or ```sh block must be marked `<!-- readme-test: NAME -->`, or
 * `fragment` when it is deliberately not runnable.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { startLocalProvider } from '../examples/_local-provider.ts';
import { tempDir } from './_fixtures/index.ts';
import { readmeBlocks, root, scratch } from './_readme-blocks.ts';

const run = promisify(execFile);

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('README', () => {
  const code = readmeBlocks();

  it('marks every runnable block and has the ones this test runs', () => {
    // The `sdk-*` recipes run in readme-sdks.test.ts.
    expect([...code.keys()].filter((name) => !name.startsWith('sdk-')).sort()).toEqual(['agent', 'api', 'owner']);
  });

  it('the 30-second integration works as pasted: owner commands, then the agent code', async () => {
    const cwd = tempDir('agent-vault-readme-');
    const passphraseFile = join(cwd, 'passphrase');
    writeFileSync(passphraseFile, 'a readme passphrase\n', { mode: 0o600 });
    const apiKey = `sk-readme-${'r'.repeat(40)}`;
    // As on a fresh machine: no vault directory set, so `init` makes .agent-vault/ here.
    const { AGENT_VAULT_DIR: _unset, ...inherited } = process.env;
    const env = { ...inherited, AGENT_VAULT_PASSPHRASE_FILE: passphraseFile, NO_COLOR: '1' };
    let token = '';
    for (const line of code.get('owner')!.split('\n').map((l) => l.replace(/\s+#.*$/, '').trim()).filter(Boolean)) {
      if (line.startsWith('npm install')) continue; // this checkout is the installed package
      const command = line.replace(/^npx agent-vault/, `"${process.execPath}" "${join(root, 'dist', 'cli', 'index.js')}"`);
      const stdout = execFileSync('bash', ['-c', command], { cwd, env, input: line.includes(' set ') ? apiKey : '', encoding: 'utf8' });
      if (line.includes('agent create')) expect(stdout.trim()).toBe(''); // the token went to the file only
    }
    const tokenFile = join(cwd, 'agent.token');
    token = readFileSync(tokenFile, 'utf8').trim();
    expect(token).toMatch(/^avt_/);
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);

    const provider = await startLocalProvider({ apiKey });
    try {
      mkdirSync(scratch, { recursive: true });
      const file = join(scratch, 'quickstart.ts');
      writeFileSync(file, code.get('agent')!);
      const { stdout } = await run(process.execPath, [file], {
        cwd,
        env: { ...inherited, AGENT_VAULT_TOKEN_FILE: tokenFile, OPENAI_BASE_URL: provider.openaiBaseURL },
      });
      expect(stdout.trim()).toBe('Hello from the local stand-in provider.');
      expect(provider.stats).toEqual({ requests: 1, authorized: 1 });
    } finally {
      await provider.close();
    }
  }, 60_000);

  it('the API example runs', async () => {
    mkdirSync(scratch, { recursive: true });
    const file = join(scratch, 'api.ts');
    writeFileSync(file, code.get('api')!);
    const { stdout } = await run(process.execPath, [file], { cwd: root });
    expect(stdout.trim()).toBe('resolved 10 bytes');
  }, 30_000);
});
