/**
 * The whole move-in, end to end: an MCP config with a real key, `import`, and then the MCP
 * client's part: start the rewritten entry exactly as written (command, args, env), speak MCP
 * to it over stdio, and have the server call an OpenAI-compatible provider. The provider must
 * receive the real key; the server's own environment must hold only a phantom key.
 *
 * One change to the entry, the test's own: `--upstream openai=<loopback>` before `--`, since
 * the rewritten entry (rightly) points exec at the real provider. Then the server turns
 * hostile: every file its entry or its parent's argv and environment name is tried as the
 * owner's credential (none opens the vault), and the token it can read opens only its own key.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openVault } from '../../src/index.ts';
import { runCli } from '../cli/_cli.ts';
import { tempDir, testVault } from '../_fixtures/index.ts';
import { type Provider, startProvider } from '../broker/_provider.ts';
import { randomText } from './_tree.ts';

const SERVER = join(import.meta.dirname, '_clients', 'mcp-server.mjs');

interface Entry {
  command: string;
  args: string[];
  env?: Record<string, string>;
}

/** Start an MCP server entry as an MCP client does, and call its tool once. */
interface ToolResult {
  status: number;
  answer: string;
  env: Record<string, string>;
  parent: { cmdline: string[]; environ: string[] };
}

async function callTool(entry: Entry, cwd: string, home: string): Promise<ToolResult> {
  const child = spawn(entry.command, entry.args, { cwd, env: { PATH: process.env.PATH, HOME: home, ...entry.env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const replies = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const request = async (id: number, method: string, params: unknown) => {
    child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`);
    const { value, done } = await replies.next();
    if (done) throw new Error(`the server exited: ${stderr}`);
    return JSON.parse(value as string) as { result: { content: { text: string }[] } };
  };
  try {
    await request(1, 'initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'test', version: '0' } });
    child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`);
    const reply = await request(2, 'tools/call', { name: 'ask', arguments: { question: 'hi' } });
    return JSON.parse(reply.result.content[0]!.text);
  } finally {
    child.stdin.end();
    await new Promise((resolve) => child.once('close', resolve));
  }
}

describe.each(['key file', 'passphrase file'])('an MCP server moved in by import (vault unlocked by a %s)', (unlock) => {
  const root = tempDir('agent-vault-mcp-');
  const home = join(root, 'home');
  const project = join(home, 'project');
  const vaultDir = join(home, '.agent-vault');
  const keyFile = join(root, 'owner.key');
  const passphraseFile = join(root, 'owner.passphrase');
  const key = `sk-proj-${randomText(48)}`;
  const owner = unlock === 'key file' ? { args: ['--key-file', keyFile], env: {} } : { args: [], env: { AGENT_VAULT_PASSPHRASE_FILE: passphraseFile } };
  let provider: Provider;
  let attacker: ToolResult;
  let attackerEntry: Entry;

  beforeAll(async () => {
    mkdirSync(project, { recursive: true });
    writeFileSync(passphraseFile, 'x\n', { mode: 0o600 });
    const vault = await testVault(unlock === 'key file' ? { dir: vaultDir, keyFile } : { dir: vaultDir });
    await vault.set('other-api-key', `other-${randomText(40)}`);
    await vault.close();
    writeFileSync(join(project, '.mcp.json'), `${JSON.stringify({
      mcpServers: { ask: { command: process.execPath, args: [SERVER], env: { OPENAI_API_KEY: key, LOG_LEVEL: 'info' } } },
    }, null, 2)}\n`);
    provider = await startProvider();
  });
  afterAll(() => provider.close());

  it('starts through exec, and reaches the provider with the real key while holding a phantom one', async () => {
    const imported = await runCli(['import', '--no-home', '--no-environment', '--yes', '--dir', vaultDir, ...owner.args], {
      cwd: project, env: { HOME: home, ...owner.env },
    });
    expect(imported.code, imported.stderr).toBe(0);
    const config = readFileSync(join(project, '.mcp.json'), 'utf8');
    expect(config).not.toContain(key);
    const entry = (JSON.parse(config) as { mcpServers: { ask: Entry } }).mcpServers.ask;
    expect(entry.args).toContain('exec');
    // How exec reaches the vault without a terminal: the server's own agent token file, never an owner credential.
    expect(entry.env).toEqual({ LOG_LEVEL: 'info', AGENT_VAULT_TOKEN_FILE: join(home, '.config', 'agent-vault', 'tokens', 'mcp-claude-ask.token') });
    expect(JSON.stringify(entry)).not.toContain(keyFile);
    expect(JSON.stringify(entry)).not.toContain(passphraseFile);
    entry.args.splice(entry.args.indexOf('--'), 0, '--upstream', `openai=${provider.origin}`);

    const result = await callTool(entry, project, home);
    expect(result.status).toBe(200);
    expect(typeof result.answer).toBe('string');
    // The server's environment: a phantom key, no real key, no vault credential.
    expect(result.env.OPENAI_API_KEY).toMatch(/^avp_/);
    expect(JSON.stringify(result.env)).not.toContain(key);
    expect(Object.keys(result.env).filter((name) => name.startsWith('AGENT_VAULT_'))).toEqual([]);
    // The provider got the real key, put in by the broker.
    const calls = provider.received.filter((call) => call.url.endsWith('/chat/completions'));
    expect(calls).toHaveLength(1);
    expect(calls[0]!.headers.authorization).toBe(`Bearer ${key}`);
    attacker = result;
    attackerEntry = entry;
  });

  it('a hostile server gets at most its own token: no file it can name opens the vault as the owner', async () => {
    expect(attacker, 'the first test ran the server').toBeDefined();
    // Everything the server can learn of how it was started: its entry, and exec's argv and environ.
    const said = [...attackerEntry.args, ...Object.values(attackerEntry.env ?? {}), ...attacker.parent.cmdline, ...attacker.parent.environ.map((pair) => pair.slice(pair.indexOf('=') + 1))];
    if (process.platform === 'linux') expect(attacker.parent.cmdline).toContain('exec');
    const files = [...new Set(said.flatMap((word) => word.split(/[=:]/)).filter((word) => isAbsolute(word) && existsSync(word) && statSync(word).isFile()))];
    expect(files).toContain(join(home, '.config', 'agent-vault', 'tokens', 'mcp-claude-ask.token'));
    expect(files).not.toContain(keyFile);
    expect(files).not.toContain(passphraseFile);
    for (const file of files) {
      const contents = readFileSync(file, 'utf8').trim();
      await expect(openVault({ dir: vaultDir, keyFile: file }), file).rejects.toThrow();
      await expect(openVault({ dir: vaultDir, passphrase: contents }), file).rejects.toThrow();
    }
    // The token it can read: the OpenAI key it was granted, and not the other secret.
    const token = readFileSync(join(home, '.config', 'agent-vault', 'tokens', 'mcp-claude-ask.token'), 'utf8').trim();
    expect(statSync(join(home, '.config', 'agent-vault', 'tokens', 'mcp-claude-ask.token')).mode & 0o777).toBe(0o600);
    const stolen = await openVault({ dir: vaultDir, token });
    try {
      expect(await stolen.get('openai-api-key')).toBe(key);
      await expect(stolen.get('other-api-key')).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
    } finally {
      await stolen.close();
    }
  });

  it('undo restores the entry and revokes the server\'s agent: the stolen token stops working', async () => {
    const tokenFile = join(home, '.config', 'agent-vault', 'tokens', 'mcp-claude-ask.token');
    const token = readFileSync(tokenFile, 'utf8').trim();
    const undone = await runCli(['import', '--undo', '--dir', vaultDir, ...owner.args], { cwd: project, env: { HOME: home, ...owner.env } });
    expect(undone.code, undone.stderr).toBe(0);
    expect(undone.stderr).toContain('mcp-claude-ask');
    expect(readFileSync(join(project, '.mcp.json'), 'utf8')).toContain(key);
    expect(existsSync(tokenFile)).toBe(false);
    await expect((async () => {
      const vault = await openVault({ dir: vaultDir, token });
      try {
        return await vault.get('openai-api-key');
      } finally {
        await vault.close();
      }
    })()).rejects.toMatchObject({ code: expect.stringMatching(/REVOKED|ACCESS_DENIED|TOKEN/) });
  });
});
