/**
 * scan and import against hostile or odd input, each case an attack that once worked: a link
 * loop that ended the scan, a multi-line value whose inner line was "moved", a Latin-1 file
 * whose other bytes a rewrite changed, keys in parts of an MCP config that were never named,
 * an `sk-` slug taken for a key, a line edited since the scan dropped anyway, agents left behind
 * for a file not rewritten, one agent id for two projects' servers.
 */
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initCrypto } from '../../src/crypto.ts';
import { applyImport, detect, type ExecLauncher, markInVault, planImport, scan, undoImport, withdrawMcpAgent } from '../../src/scan/index.ts';
import { tempDir, testVault } from '../_fixtures/index.ts';
import { randomText } from './_tree.ts';

const launcher: ExecLauncher = { command: '/usr/bin/node', args: ['/opt/agent-vault/cli.js', 'exec', '--dir', '/vault'] };
const newKey = () => `sk-proj-${randomText(48)}`;

beforeAll(() => initCrypto());

function tree(files: Record<string, string | Uint8Array>): string {
  const root = tempDir('agent-vault-attack-');
  for (const [path, contents] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), contents);
  }
  return root;
}

const scanTree = (root: string) => scan({ paths: [root], environment: false, home: false });

describe('scan does not stop, guess or miss', () => {
  it('a symbolic link loop named .env is reported, and the rest of the tree still scanned', () => {
    const key = newKey();
    const root = tree({ 'app/.env': `OPENAI_API_KEY=${key}\n` });
    symlinkSync('a', join(root, '.env'));
    symlinkSync('.env', join(root, 'a'));
    const report = scanTree(root);
    expect(report.problems).toEqual([{ path: join(root, '.env'), reason: expect.stringContaining('ELOOP') }]);
    expect(report.findings.map((finding) => finding.path)).toEqual([join(root, 'app/.env')]);
    // Named on the command line, too.
    expect(scan({ paths: [join(root, '.env')], environment: false, home: false }).problems[0]!.reason).toContain('ELOOP');
  });

  it('a FIFO or a device named on the command line is refused, not read forever', () => {
    const report = scan({ paths: ['/dev/zero'], environment: false, home: false });
    expect(report.problems).toEqual([{ path: '/dev/zero', reason: expect.stringContaining('not a regular file') }]);
  });

  it('a line inside a multi-line value is part of the value: named, never moved', () => {
    const key = newKey();
    const report = scanTree(tree({ '.env': `NOTES="deploy notes\nOPENAI_API_KEY=${key}\nend"\nOTHER=1\n` }));
    expect(report.findings.map((finding) => [finding.line, finding.removal, finding.note])).toEqual([[2, 'manual', expect.stringContaining('multi-line')]]);
  });

  it('double-quoted values the shell would expand are not taken literally', () => {
    const value = randomText(40);
    const report = scanTree(tree({ '.env': `SERVICE_TOKEN="${value}$SUFFIX"\nWEBHOOK_SECRET="${value}\\n"\n` }));
    expect(report.findings).toEqual([]);
  });

  it('a file that is not UTF-8 is searched, but left for the user (a rewrite would change its other bytes)', async () => {
    const key = newKey();
    const bytes = Buffer.concat([Buffer.from('NAME=caf'), Buffer.from([0xe9]), Buffer.from(`\nOPENAI_API_KEY=${key}\n`)]);
    const root = tree({ '.env': bytes });
    const { findings } = scanTree(root);
    expect(findings.map((finding) => [finding.removal, finding.note])).toEqual([['manual', expect.stringContaining('not UTF-8')]]);
    const vault = await testVault();
    expect((await planImport(findings, vault)).files).toEqual([]);
    expect(readFileSync(join(root, '.env')).equals(bytes)).toBe(true);
  });

  it('CRLF, a BOM and `export` are understood; the rewrite keeps the BOM and the line endings', async () => {
    const key = newKey();
    const root = tree({ '.env': `\uFEFFexport OPENAI_API_KEY='${key}'\r\nNODE_ENV=production\r\n` });
    const vault = await testVault();
    const { findings } = scanTree(root);
    expect(findings.map((finding) => [finding.variable, finding.removal])).toEqual([['OPENAI_API_KEY', 'line']]);
    const result = await applyImport(await planImport(findings, vault), vault, { launcher, importsDir: join(root, 'i'), tokensDir: join(root, 't') });
    expect(result.rewritten).toEqual([join(root, '.env')]);
    expect(readFileSync(join(root, '.env'), 'utf8')).toMatch(/^\uFEFF# OPENAI_API_KEY: moved to agent-vault as "openai-api-key".*\r\nNODE_ENV=production\r\n$/);
    expect(await vault.get('openai-api-key')).toBe(key);
  });

  it('keys elsewhere in an MCP config (inputs, a server group it does not know) are named with their line', () => {
    const [a, b] = [newKey(), newKey()];
    const text = `${JSON.stringify({ inputs: [{ id: 'k', default: a }], context_servers: { x: { env: { OPENAI_API_KEY: b } } } }, null, 2)}\n`;
    const { findings } = scanTree(tree({ '.mcp.json': text }));
    expect(findings.map((finding) => [finding.value() === a ? 'a' : 'b', finding.removal, finding.line])).toEqual([['a', 'manual', 5], ['b', 'manual', 11]]);
    expect(findings.every((finding) => finding.note?.includes('not an MCP server entry'))).toBe(true);
  });

  it('a very long line is searched in linear time, its key found', () => {
    const key = newKey();
    const root = tree({ '.env': `${'a'.repeat(900_000)} OPENAI_API_KEY=${key}\nset ${'-x '.repeat(20_000)}\n` });
    const { findings } = scanTree(root);
    expect(findings.map((finding) => finding.value())).toEqual([key]);
  });
});

describe('no false positive among look-alikes', () => {
  it('slugs, hashes, versions, URLs and JWT-shaped public values in key-named variables', () => {
    const sha1 = randomText(40, '0123456789abcdef');
    const sha256 = randomText(64, '0123456789abcdef');
    const jwtish = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJyb2xlIjoiYW5vbiJ9.dGhpc2lzbm90YXNpZ25hdHVyZQ';
    for (const [variable, value] of [
      ['SKU', 'sk-winter-collection-2024-blue-large'], ['PRODUCT_TOKEN', 'sk-summer-sale-2025-red-small-v2'],
      ['SECRET_HASH', sha1], ['API_TOKEN_SHA256', sha256], ['TOKEN_DIGEST', sha256], ['SECRET_KEY_ID', sha1],
      ['CSRF_TOKEN_SALT', 'v1.2.3-beta.4+build.5678'], ['API_KEY', '2.14.0-rc.1'],
      ['TOKEN_URL', 'https://oauth2.googleapis.com/token'], ['OAUTH_TOKEN', 'https://example.com/a/b?c=d&e=f'],
      ['SUPABASE_ANON_KEY', jwtish], ['SESSION_TOKEN', '550e8400-e29b-41d4-a716-446655440000'],
    ] as const) {
      expect(detect(variable, value), `${variable}=${value}`).toBeUndefined();
    }
    // The real thing still counts, words or not around it.
    expect(detect('SKU', `sk-proj-${randomText(48)}`)).toBe('openai');
    expect(detect('WEBHOOK_SECRET', sha256)).toBe('generic');
  });
});

describe('import rewrites only what it scanned, and undoes its agents', () => {
  it('an entry already under exec, given a new key, is not wrapped a second time', async () => {
    const root = tree({ '.mcp.json': `${JSON.stringify({ mcpServers: { ai: { command: 'node', args: ['s.js'], env: { OPENAI_API_KEY: newKey() } } } })}\n` });
    const vault = await testVault();
    const options = { launcher, importsDir: join(root, 'i'), tokensDir: join(root, 't') };
    expect((await applyImport(await planImport(scanTree(root).findings, vault), vault, options)).rewritten).toHaveLength(1);
    const config = JSON.parse(readFileSync(join(root, '.mcp.json'), 'utf8'));
    config.mcpServers.ai.env.ANTHROPIC_API_KEY = `sk-ant-api03-${randomText(90)}`;
    writeFileSync(join(root, '.mcp.json'), JSON.stringify(config));
    const { findings } = scanTree(root);
    expect(findings.map((finding) => [finding.variable, finding.removal, finding.note])).toEqual([['ANTHROPIC_API_KEY', 'manual', expect.stringContaining('already runs under agent-vault exec')]]);
    expect((await planImport(findings, vault)).files).toEqual([]);
  });

  it('a line edited since the scan that still holds the value is not dropped', async () => {
    const key = newKey();
    const root = tree({ '.env': `OPENAI_API_KEY=${key}\n` });
    const vault = await testVault();
    const plan = await planImport(scanTree(root).findings, vault);
    writeFileSync(join(root, '.env'), `KEEP_ME=1 OPENAI_API_KEY=${key}\n`);
    const result = await applyImport(plan, vault, { launcher, importsDir: join(root, 'i'), tokensDir: join(root, 't') });
    expect(result.failed[0]?.reason).toContain('changed since it was scanned');
    expect(readFileSync(join(root, '.env'), 'utf8')).toBe(`KEEP_ME=1 OPENAI_API_KEY=${key}\n`);
  });

  it('two projects in ~/.claude.json with a server of the same name get two agents; a file that fails gets none; undo revokes the rest', async () => {
    const [openai, anthropic, groq] = [newKey(), `sk-ant-api03-${randomText(90)}`, `gsk_${randomText(52)}`];
    const server = (env: Record<string, string>) => ({ command: 'node', args: ['s.js'], env });
    const root = tree({
      'home/.claude.json': `${JSON.stringify({ projects: { '/p/one': { mcpServers: { github: server({ OPENAI_API_KEY: openai }) } }, '/p/two': { mcpServers: { github: server({ OPENAI_API_KEY: openai }) } } } }, null, 2)}\n`,
      'proj/.cursor/mcp.json': `${JSON.stringify({ mcpServers: { ai: server({ ANTHROPIC_API_KEY: anthropic }) } })}\n`,
      'other/.mcp.json': `${JSON.stringify({ mcpServers: { helper: server({ GROQ_API_KEY: groq }) } })}\n`,
    });
    const vault = await testVault();
    const { findings } = scan({ paths: [root, join(root, 'home/.claude.json')], environment: false, home: false });
    await markInVault(findings, vault);
    const plan = await planImport(findings, vault);
    expect(plan.left).toEqual([]);
    // The cursor file's key changes before the rewrite: that file fails before any agent is made for it.
    const cursorAfter = `${JSON.stringify({ mcpServers: { ai: server({ ANTHROPIC_API_KEY: `sk-ant-api03-${randomText(90)}` }) } })}\n`;
    writeFileSync(join(root, 'proj/.cursor/mcp.json'), cursorAfter);
    const tokens = join(root, 't');
    const result = await applyImport(plan, vault, { launcher, importsDir: join(root, 'i'), tokensDir: tokens });
    expect(result.failed).toEqual([{ path: join(root, 'proj/.cursor/mcp.json'), reason: expect.stringContaining('changed') }]);
    expect(result.agents.map((agent) => [agent.id, agent.allow]).sort()).toEqual([
      ['mcp-claude-github', ['openai-api-key']], ['mcp-claude-github-2', ['openai-api-key']], ['mcp-claude-helper', ['groq-api-key']],
    ]);
    const claude = JSON.parse(readFileSync(join(root, 'home/.claude.json'), 'utf8'));
    expect(claude.projects['/p/one'].mcpServers.github.env).toEqual({ AGENT_VAULT_TOKEN_FILE: join(tokens, 'mcp-claude-github.token') });
    expect(claude.projects['/p/two'].mcpServers.github.env).toEqual({ AGENT_VAULT_TOKEN_FILE: join(tokens, 'mcp-claude-github-2.token') });
    const status = async () => Object.fromEntries((await vault.listAgents()).map((agent) => [agent.id, agent.status]));
    expect(await status()).toEqual({ 'mcp-claude-github': 'active', 'mcp-claude-github-2': 'active', 'mcp-claude-helper': 'active' });
    expect(existsSync(join(tokens, 'mcp-cursor-ai.token'))).toBe(false);
    expect(readFileSync(join(root, 'proj/.cursor/mcp.json'), 'utf8')).toBe(cursorAfter);

    // Undo without the owner is refused before anything changes; with the owner, every agent goes.
    await expect(undoImport(join(root, 'i'))).rejects.toThrow('revoke');
    const undo = await undoImport(join(root, 'i'), (agent) => withdrawMcpAgent(vault, agent));
    expect(undo.restored.sort()).toEqual([join(root, 'home/.claude.json'), join(root, 'other/.mcp.json')]);
    expect(undo.revoked.sort()).toEqual(['mcp-claude-github', 'mcp-claude-github-2', 'mcp-claude-helper']);
    expect(Object.values(await status())).toEqual(['revoked', 'revoked', 'revoked']);
    for (const id of undo.revoked) expect(existsSync(join(tokens, `${id}.token`))).toBe(false);
    expect(readFileSync(join(root, 'other/.mcp.json'), 'utf8')).toContain(groq);
  });
});
