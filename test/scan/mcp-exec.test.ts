/**
 * The whole move-in, end to end: an MCP config with a real key, `import`, and then the MCP
 * client's part: start the rewritten entry exactly as written (command, args, env), speak MCP
 * to it over stdio, and have the server call an OpenAI-compatible provider. The provider must
 * receive the real key; the server's own environment must hold only a phantom key.
 *
 * One change to the entry, the test's own: `--upstream openai=<loopback>` before `--`, since
 * the rewritten entry (rightly) points exec at the real provider.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
async function callTool(entry: Entry, cwd: string, home: string): Promise<{ status: number; answer: string; env: Record<string, string> }> {
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

  beforeAll(async () => {
    mkdirSync(project, { recursive: true });
    writeFileSync(passphraseFile, 'x\n', { mode: 0o600 });
    await (await testVault(unlock === 'key file' ? { dir: vaultDir, keyFile } : { dir: vaultDir })).close();
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
    // How exec unlocks without a terminal: the key file's path, or the passphrase file's (a path, not the passphrase).
    if (unlock === 'key file') expect(entry.args).toContain(keyFile);
    else expect(entry.env).toEqual({ LOG_LEVEL: 'info', AGENT_VAULT_PASSPHRASE_FILE: passphraseFile });
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
  });
});
