/**
 * The README's code runs as written, in a fresh project made by `npm init -y` with the packed
 * tarball installed (offline, see _fixtures/packed.ts): the owner's shell commands through the
 * installed `npx agent-vault`, the agent's `agent.mjs` and the command that runs it against a
 * local stand-in provider. The API example runs inside this checkout. Every ```ts, ```js or
 * ```sh block must be marked `<!-- readme-test: NAME -->`, or `fragment` when it is deliberately
 * not runnable.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { startLocalProvider } from '../examples/_local-provider.ts';
import { tempDir } from './_fixtures/index.ts';
import { packedTarballs } from './_fixtures/packed.ts';
import { readmeBlocks, root, scratch } from './_readme-blocks.ts';

const run = promisify(execFile);

/** Shell lines as typed: comments dropped, blank lines skipped. */
function commands(block: string): string[] {
  return block.split('\n').map((line) => line.replace(/\s+#.*$/, '').trim()).filter(Boolean);
}

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('README', () => {
  const code = readmeBlocks();

  it('marks every runnable block and has the ones this test runs', () => {
    // The `sdk-*` recipes run in readme-sdks.test.ts.
    expect([...code.keys()].filter((name) => !name.startsWith('sdk-')).sort()).toEqual(['agent', 'api', 'owner', 'run']);
  });

  it('the 30-second integration works as pasted into a fresh `npm init -y` project', async () => {
    const home = tempDir('agent-vault-readme-home-');
    const project = join(home, 'my-agent');
    mkdirSync(project);
    const passphraseFile = join(home, 'passphrase');
    writeFileSync(passphraseFile, 'a readme passphrase\n', { mode: 0o600 });
    const apiKey = `sk-readme-${'r'.repeat(40)}`;
    // A fresh machine: nothing of ours in the environment, an empty home, no registry needed.
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(AGENT_VAULT_|OPENAI_|npm_)/.test(name)));
    const env = {
      ...inherited, HOME: home, NO_COLOR: '1', AGENT_VAULT_PASSPHRASE_FILE: passphraseFile,
      npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false',
    };
    const install = `npm install ${packedTarballs(['openai']).map((file) => `'${file}'`).join(' ')} --offline --ignore-scripts`;
    for (const line of commands(code.get('owner')!)) {
      const command = line.replace('npm install agent-vault openai', install);
      execFileSync('bash', ['-c', command], { cwd: project, env, input: line.includes(' set ') ? apiKey : '', stdio: ['pipe', 'pipe', 'pipe'] });
    }
    const tokenFile = join(home, '.config', 'agent-vault', 'research-bot.token');
    expect(readFileSync(tokenFile, 'utf8')).toMatch(/^avt_/);
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    // The vault is git-ignored, and the project really is a plain CommonJS `npm init -y` one.
    expect(readFileSync(join(project, '.agent-vault', '.gitignore'), 'utf8')).toContain('\n*\n');
    expect(JSON.parse(readFileSync(join(project, 'package.json'), 'utf8')).type).not.toBe('module');
    expect(existsSync(join(project, 'node_modules', 'agent-vault', 'dist', 'index.js'))).toBe(true);

    const provider = await startLocalProvider({ apiKey });
    try {
      writeFileSync(join(project, 'agent.mjs'), code.get('agent')!);
      const [runLine] = commands(code.get('run')!);
      const { stdout, stderr } = await run('bash', ['-c', runLine!], {
        cwd: project,
        env: { ...inherited, HOME: home, OPENAI_BASE_URL: provider.openaiBaseURL },
      });
      expect(stdout.trim()).toBe('Hello from the local stand-in provider.');
      expect(stderr).toBe('');
      expect(provider.stats).toEqual({ requests: 1, authorized: 1 });
    } finally {
      await provider.close();
    }
  }, 180_000);

  it('the API example runs', async () => {
    mkdirSync(scratch, { recursive: true });
    const file = join(scratch, 'api.ts');
    writeFileSync(file, code.get('api')!);
    const { stdout } = await run(process.execPath, [file], { cwd: root });
    expect(stdout.trim()).toBe('resolved 10 bytes');
  }, 30_000);
});
