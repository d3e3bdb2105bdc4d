/**
 * The README's SDK recipes (`sdk-*` blocks) run as written against the built package: each in a
 * process of its own, with an agent token in AGENT_VAULT_TOKEN, the SDK's base-URL variable
 * pointing at a loopback stand-in, and the reply printed. The stand-in records which key each
 * request carried.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeKey, startServer, tempDir, type TestServer, testVault } from './_fixtures/index.ts';
import { heapHandler } from './adapters/_heap-scenarios.ts';
import { mcpServer } from './adapters/_mcp-server.ts';
import { keyIn, TEXT } from './adapters/_sdk-matrix.ts';
import { readmeBlocks, scratch as readmeScratch } from './_readme-blocks.ts';

const run = promisify(execFile);
const scratch = `${readmeScratch}-sdks`;
const code = readmeBlocks();
const keys = Object.fromEntries(
  ['openai-api-key', 'anthropic-api-key', 'gemini-api-key', 'mistral-api-key', 'groq-api-key', 'example-mcp-key'].map((name) => [name, fakeKey()]),
);

/** How each recipe is pointed at the stand-in, and what it must print and send. */
const recipes: Record<string, { env(origin: string): Record<string, string>; secret: string; header: string; output: string; preload?: string }> = {
  'sdk-ai-sdk': { env: (o) => ({ OPENAI_BASE_URL: `${o}/v1` }), secret: 'openai-api-key', header: 'authorization', output: TEXT },
  'sdk-google': { env: (o) => ({ GOOGLE_GEMINI_BASE_URL: o }), secret: 'gemini-api-key', header: 'x-goog-api-key', output: TEXT },
  // The Mistral SDK reads no base-URL variable: its server list is pointed at the stand-in.
  'sdk-mistral': {
    env: (o) => ({ MISTRAL_STAND_IN: o }), secret: 'mistral-api-key', header: 'authorization', output: TEXT,
    preload: "import { ServerList } from '@mistralai/mistralai/lib/config.js'; ServerList.global = process.env.MISTRAL_STAND_IN;",
  },
  'sdk-groq': { env: (o) => ({ GROQ_BASE_URL: o }), secret: 'groq-api-key', header: 'authorization', output: TEXT },
  'sdk-langchain': { env: (o) => ({ ANTHROPIC_BASE_URL: o }), secret: 'anthropic-api-key', header: 'x-api-key', output: TEXT },
  // Tracing off by the SDK's own switch: the exporter's endpoint is on the internet.
  'sdk-openai-agents': {
    env: (o) => ({ OPENAI_BASE_URL: `${o}/v1`, OPENAI_AGENTS_DISABLE_TRACING: '1' }), secret: 'openai-api-key', header: 'authorization', output: TEXT,
  },
  'sdk-mcp': { env: () => ({}), secret: 'example-mcp-key', header: 'authorization', output: 'echo' },
};

describe('README SDK recipes', () => {
  let provider: TestServer;
  let mcp: Awaited<ReturnType<typeof mcpServer>>;
  let vaultDir: string;
  let token: string;
  beforeAll(async () => {
    [provider, mcp] = await Promise.all([startServer(heapHandler()), mcpServer()]);
    vaultDir = join(tempDir('agent-vault-readme-sdks-'), 'vault');
    const owner = await testVault({ dir: vaultDir });
    for (const [name, value] of Object.entries(keys)) await owner.set(name, value);
    ({ token } = await owner.createAgent('readme-bot', { allow: ['*'], ttl: '1h' }));
    mkdirSync(scratch, { recursive: true });
  });
  afterAll(async () => {
    await Promise.all([provider.close(), mcp.close()]);
    rmSync(scratch, { recursive: true, force: true });
  });

  it('has a recipe for every SDK subpath, and this test knows each', () => {
    expect([...code.keys()].filter((name) => name.startsWith('sdk-')).sort()).toEqual(Object.keys(recipes).sort());
  });

  for (const [name, recipe] of Object.entries(recipes)) {
    it(`${name} runs as pasted and sends the key from the vault`, async () => {
      provider.requests.length = 0;
      mcp.requests.length = 0;
      const file = join(scratch, `${name}.ts`);
      writeFileSync(file, code.get(name)!.replaceAll('https://mcp.example.com', mcp.origin));
      const preload = join(scratch, `${name}.preload.mjs`);
      if (recipe.preload) writeFileSync(preload, recipe.preload);
      const args = recipe.preload ? ['--import', preload, file] : [file];
      const { stdout } = await run(process.execPath, args, {
        cwd: scratch,
        env: { ...process.env, AGENT_VAULT_DIR: vaultDir, AGENT_VAULT_TOKEN: token, ...recipe.env(provider.origin) },
        timeout: 30_000,
      });
      expect(stdout.trim()).toBe(recipe.output);
      const received = name === 'sdk-mcp' ? mcp.requests : provider.requests;
      expect(received.length).toBeGreaterThanOrEqual(1);
      for (const request of received) expect(keyIn(request, recipe.header)).toBe(keys[recipe.secret]);
    }, 40_000);
  }
});
