/** `agent-vault/openai-agents` with the real @openai/agents: model calls and trace export. */
import {
  Agent, BatchTraceProcessor, getGlobalTraceProvider, OpenAITracingExporter, run, Runner, setTraceProcessors, setTracingDisabled,
} from '@openai/agents';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenAIProvider, useVaultForAgents } from '../../adapters/openai-agents.ts';
import { UsageError } from '../../src/index.ts';
import { fakeKey, startServer, type TestServer } from '../_fixtures/index.ts';
import { agentWithKey } from './_fixtures.ts';
import { keyIn, sdkMatrix, TEXT } from './_sdk-matrix.ts';
import { type Handler, providerHandler } from './_servers.ts';

const agent = new Agent({ name: 'assistant', instructions: 'Answer briefly.', model: 'gpt-test' });

sdkMatrix<Runner>({
  label: '@openai/agents OpenAIProvider',
  keyHeader: 'authorization',
  baseURL: (origin) => `${origin}/v1`,
  client: (binding, baseURL) => new Runner({ modelProvider: new OpenAIProvider({ ...binding, baseURL }), tracingDisabled: true }),
  call: async (runner) => String((await runner.run(agent, 'hi')).finalOutput),
  stream: async (runner) => {
    const result = await runner.run(agent, 'hi', { stream: true });
    let text = '';
    for await (const chunk of result.toTextStream()) text += chunk;
    await result.completed;
    if (result.error) throw result.error;
    return text;
  },
});

describe('agent-vault/openai-agents OpenAIProvider', () => {
  it('refuses the Responses WebSocket transport (its handshake carries the key outside the vault fetch)', async () => {
    const { vault } = await agentWithKey('openai-api-key');
    expect(() => new OpenAIProvider({ vault, secret: 'openai-api-key', useResponsesWebSocket: true })).toThrow(UsageError);
  });
});

describe('useVaultForAgents: the default client and trace export go through the vault', () => {
  let server: TestServer;
  // One agent for the block: the SDK's default provider keeps the first default client it sees.
  let fixture: Awaited<ReturnType<typeof agentWithKey>>;
  const openai = providerHandler();
  const handler: Handler = (request, res) => {
    if (request.url === '/v1/traces/ingest') {
      res.writeHead(204);
      res.end();
      return;
    }
    openai(request, res);
  };
  beforeAll(async () => {
    server = await startServer(handler);
    fixture = await agentWithKey('openai-api-key');
  });
  afterAll(async () => {
    setTracingDisabled(true);
    await server.close();
  });

  it('tracing: false disables tracing, with a warning', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.message);
    process.on('warning', onWarning);
    try {
      setTracingDisabled(false);
      useVaultForAgents({ vault: fixture.vault, secret: 'openai-api-key', baseURL: `${server.origin}/v1`, tracing: false });
      await run(agent, 'hi');
      await getGlobalTraceProvider().forceFlush();
      await new Promise((resolve) => setImmediate(resolve));
      expect(server.requests.map((r) => r.url)).toEqual(['/v1/responses']);
      expect(keyIn(server.requests[0]!, 'authorization')).toBe(fixture.key);
      expect(warnings.join('\n')).toMatch(/turned tracing off/);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it("baseline: the SDK's own trace exporter sends OPENAI_API_KEY from the environment, which no client option reaches", async () => {
    const decoy = fakeKey('sk-env-decoy');
    process.env.OPENAI_API_KEY = decoy;
    server.requests.length = 0;
    try {
      setTracingDisabled(false);
      setTraceProcessors([new BatchTraceProcessor(new OpenAITracingExporter({ endpoint: `${server.origin}/v1/traces/ingest` }))]);
      const runner = new Runner({ modelProvider: new OpenAIProvider({ vault: fixture.vault, secret: 'openai-api-key', baseURL: `${server.origin}/v1` }) });
      await runner.run(agent, 'hi');
      await getGlobalTraceProvider().forceFlush();
      const ingests = server.requests.filter((r) => r.url === '/v1/traces/ingest');
      expect(ingests.length).toBeGreaterThanOrEqual(1);
      expect(keyIn(ingests[0]!, 'authorization')).toBe(decoy);
    } finally {
      delete process.env.OPENAI_API_KEY;
    }
  });

  it('traces reach the ingest endpoint with the vault key, never OPENAI_API_KEY; revoked, nothing is sent', async () => {
    const { vault, key, owner } = fixture;
    const decoy = fakeKey('sk-env-decoy');
    process.env.OPENAI_API_KEY = decoy;
    server.requests.length = 0;
    try {
      setTracingDisabled(false);
      useVaultForAgents({ vault, secret: 'openai-api-key', baseURL: `${server.origin}/v1`, tracing: { endpoint: `${server.origin}/v1/traces/ingest` } });
      expect(String((await run(agent, 'hi')).finalOutput)).toBe(TEXT);
      await getGlobalTraceProvider().forceFlush();
      const ingests = server.requests.filter((r) => r.url === '/v1/traces/ingest');
      expect(ingests.length).toBeGreaterThanOrEqual(1);
      expect(ingests.map((r) => keyIn(r, 'authorization'))).toEqual(ingests.map(() => key));
      expect(JSON.parse(ingests[0]!.body).data.length).toBeGreaterThan(0);
      expect(JSON.stringify(server.requests)).not.toContain(decoy);

      // Revoked: the model call rejects with the VaultError; the trace export sends nothing.
      await owner.revokeAgent('test-agent');
      const before = server.requests.length;
      await expect(run(agent, 'hi')).rejects.toMatchObject({ code: 'ACCESS_DENIED', reason: 'revoked' });
      await getGlobalTraceProvider().forceFlush();
      expect(server.requests.length).toBe(before);
    } finally {
      delete process.env.OPENAI_API_KEY;
    }
  });
});
