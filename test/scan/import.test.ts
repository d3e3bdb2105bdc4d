/**
 * `agent-vault scan` and `import` as users run them (the built CLI in a subprocess), on the
 * developer machine of _tree.ts: a key-file vault in ~/.agent-vault, one key already in it.
 */
import { readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { openVault } from '../../src/index.ts';
import { CLI_ENTRY, runCli, transcript } from '../cli/_cli.ts';
import { testVault } from '../_fixtures/index.ts';
import { filesContaining, listFiles, makeMachine } from './_tree.ts';

const machine = makeMachine();
const vaultDir = join(machine.home, '.agent-vault');
const keyFile = join(machine.root, 'owner.key');
const github = machine.planted.find((planted) => planted.variable === 'GITHUB_TOKEN')!.value;
const owner = ['--dir', vaultDir, '--key-file', keyFile];
const cli = (args: string[]) => runCli([...args, ...owner], { cwd: machine.project, env: { HOME: machine.home, XDG_CONFIG_HOME: undefined, APPDATA: undefined } });
const importsRoot = join(machine.home, '.config', 'agent-vault', 'imports');
const tokensRoot = join(machine.home, '.config', 'agent-vault', 'tokens');
const outsideBackups = (paths: string[]) => paths.filter((path) => !path.includes(join('agent-vault', 'imports')));
const read = (path: string) => readFileSync(join(machine.root, path));

beforeAll(async () => {
  const vault = await testVault({ dir: vaultDir, keyFile });
  await vault.set('github-token', github);
  await vault.close();
});

describe('agent-vault scan', () => {
  it('lists every key masked, naming the one the vault already holds', async () => {
    const result = await cli(['scan', '--no-environment', '--json']);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as { findings: { where: string; inVault: string | null; masked: string }[]; comparedWithVault: boolean };
    expect(report.comparedWithVault).toBe(true);
    expect(report.findings).toHaveLength(machine.planted.length);
    expect(report.findings.filter((finding) => finding.inVault).map((finding) => finding.inVault)).toEqual(['github-token']);
    expect(report.findings.every((finding) => /^[^…]{0,4}…\(\d+ chars\)$/.test(finding.masked))).toBe(true);
    const text = await cli(['scan', '--no-environment']);
    expect(text.stdout).toMatch(/\.env\.local:3 +GITHUB_TOKEN +github +ghp_…\(40 chars\) +in the vault as github-token; git-ignored/);
    expect(text.stderr).toContain(`skipped: ${join(machine.home, '.cursor', 'mcp.json')}: not valid JSON`);
  });
});

describe('agent-vault import', () => {
  it('refuses to change anything without a terminal or --yes', async () => {
    const result = await cli(['import', '--no-environment']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--yes');
    for (const [path, bytes] of machine.files) expect(read(path).equals(bytes), path).toBe(true);
  });

  it('moves every movable key into the vault and out of every file; leaves and names the rest', async () => {
    const result = await cli(['import', '--no-environment', '--yes', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const output = JSON.parse(result.stdout) as { stored: string[]; rewritten: string[]; left: { where: string; reason: string }[]; backupDir: string };
    expect(output.stored.sort()).toEqual([
      'anthropic-api-key', 'aws-access-key-id', 'aws-secret-access-key', 'gemini-api-key', 'groq-api-key', 'mistral-api-key',
      'openai-api-key', 'stripe-secret-key', 'together-api-key',
    ]);
    for (const planted of machine.planted) {
      const holders = outsideBackups(filesContaining(machine.root, planted.value));
      if (planted.movable) expect(holders, planted.file).toEqual([]);
      else expect(holders, planted.file).toContain(planted.file);
    }
    const left = output.left.map((entry) => entry.where).join('\n');
    for (const planted of machine.planted.filter((candidate) => !candidate.movable)) expect(left).toContain(join(machine.root, planted.file));
    expect(output.left.find((entry) => entry.where.includes('brave'))?.reason).toContain('no provider route');
    expect(output.left.find((entry) => entry.where.includes('windsurf') && entry.where.includes('mistral'))?.reason).toContain('another value');
    expect(output.left.find((entry) => entry.where.includes('openrouter'))?.reason).toContain('sets OPENAI_BASE_URL');

    const vault = await openVault({ dir: vaultDir, keyFile });
    try {
      for (const planted of machine.planted.filter((candidate) => candidate.movable && candidate.variable)) {
        const name = planted.variable === 'GEMINI_API_KEY' ? 'gemini-api-key' : planted.variable!.toLowerCase().replace(/_/g, '-');
        expect(await vault.get(name), name).toBe(planted.value);
      }
    } finally {
      await vault.close();
    }
  });

  it('leaves a pointer in line files, line endings and modes kept', () => {
    const env = read('home/code/app/.env').toString();
    expect(env).toContain('# OPENAI_API_KEY: moved to agent-vault as "openai-api-key"');
    expect(env).toContain('NODE_ENV=production\n');
    expect(read('home/code/app/.env.local').toString()).toMatch(/^# GROQ_API_KEY: .*\r\n# STRIPE_SECRET_KEY: .*\r\n# GITHUB_TOKEN: moved to agent-vault as "github-token".*\r\n$/);
    expect(statSync(join(machine.root, 'home/code/app/.env')).mode & 0o777).toBe(0o640);
  });

  it('rewrites MCP servers to start under exec with a token of their own, and only their other variables', () => {
    const launcher = [realpathSync(CLI_ENTRY), 'exec', '--dir', vaultDir, '--ttl', '90d'];
    const project = JSON.parse(read('home/code/app/.mcp.json').toString());
    expect(project.mcpServers['openai-tools']).toEqual({
      command: process.execPath, args: [...launcher, '--', 'node', 'server.js'],
      env: { LOG_LEVEL: 'debug', AGENT_VAULT_TOKEN_FILE: join(tokensRoot, 'mcp-claude-openai-tools.token') },
    });
    // No rewritten entry names the owner's key file (a same-user server could open the whole vault with it).
    for (const path of machine.files.keys()) expect(read(path).toString(), path).not.toContain(keyFile);
    expect(project.mcpServers.filesystem).toEqual(JSON.parse(machine.files.get('home/code/app/.mcp.json')!.toString()).mcpServers.filesystem);
    const cursorText = read('home/code/app/.cursor/mcp.json').toString();
    expect(cursorText).toMatch(/^\{\n {4}"mcpServers"/); // its own indentation
    const cursor = JSON.parse(cursorText);
    expect(cursor.mcpServers['anthropic-helper'].args.slice(-5)).toEqual(['90d', '--', 'python', '-m', 'helper']);
    expect(cursor.mcpServers['anthropic-helper'].env).toEqual({ AGENT_VAULT_TOKEN_FILE: join(tokensRoot, 'mcp-cursor-anthropic-helper.token') });
    expect(cursor.mcpServers.remote.headers.Authorization).toMatch(/^Bearer ghp_/);
    const vscode = JSON.parse(read('home/code/app/.vscode/mcp.json').toString());
    expect(vscode.servers.gemini.args.slice(-3)).toEqual(['--', 'node', 'gemini.js']);
    expect(vscode.servers.gemini.type).toBe('stdio');
    expect(vscode.servers.github.env.GITHUB_PERSONAL_ACCESS_TOKEN).toBe('${input:github_token}');
    const claude = JSON.parse(read('home/.claude.json').toString());
    expect(claude.projects['/home/me/code/app'].mcpServers.groq.command).toBe(process.execPath);
    expect(claude.numStartups).toBe(12);
    // Left untouched byte for byte: the malformed one, and the one whose only key stays.
    for (const path of ['home/.cursor/mcp.json', 'home/.codeium/windsurf/mcp_config.json']) {
      expect(read(path).equals(machine.files.get(path)!), path).toBe(true);
    }
  });

  it('made one agent per rewritten server, allowed exactly its keys, its token in a 0600 file', async () => {
    const vault = await openVault({ dir: vaultDir, keyFile });
    try {
      const mcp = (await vault.listAgents()).filter((agent) => agent.id.startsWith('mcp-'));
      expect(Object.fromEntries(mcp.map((agent) => [agent.id, agent.allow]))).toEqual({
        'mcp-claude-desktop-openai': ['openai-api-key'],
        'mcp-claude-openai-tools': ['openai-api-key'],
        'mcp-claude-groq': ['groq-api-key'],
        'mcp-cursor-anthropic-helper': ['anthropic-api-key'],
        'mcp-vscode-gemini': ['gemini-api-key'],
      });
      for (const agent of mcp) expect(statSync(join(tokensRoot, `${agent.id}.token`)).mode & 0o777).toBe(0o600);
      expect(statSync(tokensRoot).mode & 0o777).toBe(0o700);
    } finally {
      await vault.close();
    }
  });

  it('kept a backup of every rewritten file, with a manifest, private to the owner', () => {
    const [id] = listFiles(importsRoot).filter((path) => path.endsWith('manifest.json'));
    const manifest = JSON.parse(readFileSync(join(importsRoot, id!), 'utf8')) as { files: { path: string; backup: string; mode: number }[] };
    expect(manifest.files).toHaveLength(10);
    for (const file of manifest.files) {
      const original = machine.files.get(file.path.slice(machine.root.length + 1))!;
      expect(readFileSync(join(importsRoot, id!, '..', file.backup)).equals(original), file.path).toBe(true);
      expect(file.mode).toBe(0o640);
    }
    expect(statSync(join(importsRoot, id!, '..')).mode & 0o777).toBe(0o700);
  });

  it('a second scan finds only what was left, and import has nothing new to store', async () => {
    const scanAgain = JSON.parse((await cli(['scan', '--no-environment', '--no-vault', '--json'])).stdout) as { findings: unknown[] };
    expect(scanAgain.findings).toHaveLength(machine.planted.filter((planted) => !planted.movable).length);
  });

  it('--undo restores every file byte for byte, and refuses one edited since', async () => {
    const result = await cli(['import', '--undo', '--json']);
    expect(result.code, result.stderr).toBe(0);
    for (const [path, bytes] of machine.files) expect(read(path).equals(bytes), path).toBe(true);
    expect(statSync(join(machine.root, 'home/code/app/.env')).mode & 0o777).toBe(0o640);
    expect(outsideBackups(filesContaining(machine.root, github))).toEqual(['home/code/app/.env.local']);
    expect((await cli(['import', '--undo'])).stderr).toContain('No import to undo');

    // Import again, edit one file, undo: the edit is kept and named.
    expect((await cli(['import', '--no-environment', '--yes'])).code).toBe(0);
    writeFileSync(join(machine.root, 'home/.zshrc'), '# edited by hand\n');
    const partial = await cli(['import', '--undo']);
    expect(partial.stderr).toMatch(/not restored: .*\.zshrc: changed since the import/);
    expect(read('home/.zshrc').toString()).toBe('# edited by hand\n');
    expect(read('home/.bashrc').equals(machine.files.get('home/.bashrc')!)).toBe(true);
  });

  it('--forget deletes every backup, and undo is then refused', async () => {
    // The second import's backup of ~/.zshrc, not restored (edited since), still holds the AWS key.
    const aws = machine.planted.find((planted) => planted.variable === 'AWS_ACCESS_KEY_ID')!.value;
    expect(filesContaining(machine.root, aws).some((path) => path.includes(join('agent-vault', 'imports')))).toBe(true);
    const result = await cli(['import', '--forget']);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/Deleted the backups of 2 import\(s\)/);
    expect(listFiles(machine.root).filter((path) => path.includes(join('agent-vault', 'imports')))).toEqual([]);
    expect((await cli(['import', '--undo'])).stderr).toContain('No import to undo');
    expect((await cli(['import', '--undo', '--forget'])).code).toBe(2);
  });

  it('never printed a key', () => {
    const printed = transcript.map((run) => run.stdout + run.stderr).join('\n');
    for (const planted of machine.planted) expect(printed).not.toContain(planted.value.slice(4, 20));
    expect(printed).not.toMatch(/avt_[A-Za-z0-9_-]{20}/); // the MCP agents' tokens went to their files only
  });
});
