/**
 * Import against the files it should not rewrite, in-process: a file changed between scan and
 * rewrite, a JSONC config, a symbolic link, a tampered backup. Each is left whole and named.
 */
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initCrypto, randomBytes } from '../../src/crypto.ts';
import { encodeToken } from '../../src/token.ts';
import { applyImport, type ExecLauncher, markInVault, planImport, scan, undoImport } from '../../src/scan/index.ts';
import { tempDir, testVault } from '../_fixtures/index.ts';
import { randomText } from './_tree.ts';

const launcher: ExecLauncher = { command: '/usr/bin/node', args: ['/opt/agent-vault/cli.js', 'exec', '--dir', '/vault'] };
const applyOptions = (root: string) => ({ launcher, importsDir: join(root, 'imports'), tokensDir: join(root, 'tokens') });
const newKey = () => `sk-proj-${randomText(48)}`;

beforeAll(() => initCrypto());

async function prepare(files: Record<string, string>) {
  const root = tempDir('agent-vault-rewrite-');
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  const vault = await testVault();
  const report = scan({ paths: [root], environment: false, home: false });
  await markInVault(report.findings, vault);
  return { root, vault, report, plan: await planImport(report.findings, vault), imports: join(root, 'imports') };
}

describe('import refuses to half-rewrite', () => {
  it('a file changed after the scan is left whole, its key still stored, the other files rewritten', async () => {
    const [a, b] = [newKey(), newKey()];
    const { root, vault, plan } = await prepare({ 'one/.env': `OPENAI_API_KEY=${a}\n`, 'two/.env': `OPENAI_KEY=${b}\n` });
    writeFileSync(join(root, 'one/.env'), `# reorganised\nOTHER=1\nOPENAI_API_KEY=${a}\n`);
    const result = await applyImport(plan, vault, applyOptions(root));
    expect(result.failed).toEqual([{ path: join(root, 'one/.env'), reason: expect.stringContaining('changed since it was scanned') }]);
    expect(result.failed[0]!.reason).not.toContain(a);
    expect(readFileSync(join(root, 'one/.env'), 'utf8')).toBe(`# reorganised\nOTHER=1\nOPENAI_API_KEY=${a}\n`);
    expect(readFileSync(join(root, 'two/.env'), 'utf8')).not.toContain(b);
    expect(await vault.get('openai-api-key')).toBe(a); // stored before any rewrite: nothing lost
  });

  it('a JSONC config (comments) is searched but left untouched, and named', async () => {
    const key = newKey();
    const text = `{\n  // my servers\n  "servers": { "ai": { "command": "node", "args": ["a.js"], "env": { "OPENAI_API_KEY": "${key}" } } },\n}\n`;
    const { plan } = await prepare({ '.vscode/mcp.json': text });
    expect(plan.files).toEqual([]);
    expect(plan.left.map(({ finding, reason }) => [finding.server, reason])).toEqual([['ai', expect.stringContaining('comments')]]);
  });

  it('a symbolic link is found but not replaced by a file', async () => {
    const key = newKey();
    const root = tempDir('agent-vault-link-');
    writeFileSync(join(root, 'shared.txt'), `OPENAI_API_KEY=${key}\n`);
    symlinkSync(join(root, 'shared.txt'), join(root, '.env'));
    const vault = await testVault();
    const { findings } = scan({ paths: [root], environment: false, home: false });
    expect(findings.map((finding) => [finding.path, finding.removal])).toEqual([[join(root, '.env'), 'manual']]);
    expect((await planImport(findings, vault)).files).toEqual([]);
  });

  it('undo refuses a backup replaced by attacker-chosen bytes, and restores nothing', async () => {
    const key = newKey();
    const { root, vault, plan, imports } = await prepare({ '.env': `OPENAI_API_KEY=${key}\n` });
    const result = await applyImport(plan, vault, applyOptions(root));
    const rewritten = readFileSync(join(root, '.env'), 'utf8');
    writeFileSync(join(result.backupDir!, '1-.env.bak'), 'OPENAI_API_KEY=sk-attacker-chosen\n');
    await expect(undoImport(imports, vault)).rejects.toMatchObject({ code: 'INTEGRITY', message: expect.stringContaining('Nothing was restored') });
    expect(readFileSync(join(root, '.env'), 'utf8')).toBe(rewritten);
  });

  it('an agent-vault token is named but never moved into the vault it opens', async () => {
    const token = encodeToken({ vaultId: randomBytes(16), agentId: 'bot', generation: 1, loc: randomBytes(16), ownerKey: randomBytes(32), agentKey: randomBytes(32) });
    const { plan } = await prepare({ '.env': `AGENT_VAULT_TOKEN=${token}\n` });
    expect(plan.store).toEqual([]);
    expect(plan.files).toEqual([]);
    expect(plan.left.map(({ finding, reason }) => [finding.provider, reason])).toEqual([['agent-vault', expect.stringContaining('AGENT_VAULT_TOKEN_FILE')]]);
  });

  it('a value the vault holds under another name is not stored twice; the rewrite points at that name', async () => {
    const key = newKey();
    const root = tempDir('agent-vault-known-');
    writeFileSync(join(root, '.env'), `OPENAI_KEY=${key}\n`);
    const vault = await testVault();
    await vault.set('openai-api-key', key);
    const { findings } = scan({ paths: [root], environment: false, home: false });
    await markInVault(findings, vault);
    const plan = await planImport(findings, vault);
    expect(plan.store).toEqual([]);
    expect(plan.files[0]!.moves.map((move) => move.name)).toEqual(['openai-api-key']);
  });
});
