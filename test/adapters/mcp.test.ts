/**
 * `agent-vault/mcp` with the real MCP SDK: a client over our Streamable HTTP and SSE transports
 * against the SDK's own server on 127.0.0.1, which records what each request carried.
 */
import { inspect } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { SSEClientTransport, StreamableHTTPClientTransport } from '../../adapters/mcp.ts';
import { AccessDeniedError, UsageError } from '../../src/index.ts';
import { agentWithKey } from './_fixtures.ts';
import { mcpServer } from './_mcp-server.ts';
import { forms, renderings } from './_sdk-attacks.ts';

async function echo(transport: StreamableHTTPClientTransport | SSEClientTransport): Promise<string> {
  const client = new Client({ name: 'test-client', version: '1.0.0' });
  await client.connect(transport);
  try {
    const result = await client.callTool({ name: 'echo', arguments: { text: 'hello' } });
    return (result.content as Array<{ text: string }>)[0]!.text;
  } finally {
    await client.close();
  }
}

describe('agent-vault/mcp StreamableHTTPClientTransport', () => {
  let api: Awaited<ReturnType<typeof mcpServer>>;
  let elsewhere: Awaited<ReturnType<typeof mcpServer>>;
  beforeAll(async () => {
    elsewhere = await mcpServer();
    api = await mcpServer(() => elsewhere.origin);
  });
  afterAll(async () => {
    await Promise.all([api.close(), elsewhere.close()]);
  });
  beforeEach(() => {
    api.requests.length = 0;
    elsewhere.requests.length = 0;
  });

  it('every request to the server carries the key as Bearer, resolved each time; the transport holds none', async () => {
    const { vault, key, resolutions } = await agentWithKey('mcp-key');
    const transport = new StreamableHTTPClientTransport(new URL(`${api.origin}/mcp`), { vault, secret: 'mcp-key' });
    expect(await echo(transport)).toBe('hello');
    expect(api.requests.length).toBeGreaterThanOrEqual(3); // initialize, initialized, tools/call (+ the SSE GET)
    for (const request of api.requests) expect(request.headers.authorization).toBe(`Bearer ${key}`);
    expect(resolutions).toHaveBeenCalledTimes(api.requests.length);
    expect(inspect(transport, { depth: 8, showHidden: true })).not.toContain(key);
  });

  it('a custom header and no scheme', async () => {
    const { vault, key } = await agentWithKey('mcp-key');
    const transport = new StreamableHTTPClientTransport(new URL(`${api.origin}/mcp`), { vault, secret: 'mcp-key', header: 'x-api-key' });
    expect(await echo(transport)).toBe('hello');
    expect(api.requests[0]!.headers['x-api-key']).toBe(key);
    expect(api.requests[0]!.headers.authorization).toBeUndefined();
  });

  it('a revoked agent: connect rejects with the VaultError, nothing sent', async () => {
    const { vault, owner, resolutions } = await agentWithKey('mcp-key');
    await owner.revokeAgent('test-agent');
    const transport = new StreamableHTTPClientTransport(new URL(`${api.origin}/mcp`), { vault, secret: 'mcp-key' });
    const error = await echo(transport).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AccessDeniedError);
    expect(error).toMatchObject({ code: 'ACCESS_DENIED', reason: 'revoked' });
    expect(api.requests).toHaveLength(0);
    expect(resolutions).toHaveBeenCalledTimes(1);
  });

  it('a redirect to another origin never carries the key (redirectPolicy: follow)', async () => {
    const { vault, key } = await agentWithKey('mcp-key');
    const transport = new StreamableHTTPClientTransport(new URL(`${api.origin}/away/mcp`), { vault, secret: 'mcp-key', redirectPolicy: 'follow' });
    await echo(transport).catch(() => undefined);
    expect(api.requests[0]!.headers.authorization).toBe(`Bearer ${key}`);
    expect(elsewhere.requests.length).toBeGreaterThanOrEqual(1);
    expect(JSON.stringify(elsewhere.requests)).not.toContain(key);
  });

  it('refuses an authProvider beside the vault', async () => {
    const { vault } = await agentWithKey('mcp-key');
    expect(() => new StreamableHTTPClientTransport(new URL(`${api.origin}/mcp`), { vault, secret: 'mcp-key', authProvider: {} } as never))
      .toThrow(UsageError);
  });

  it('SSEClientTransport: the event stream and the posted messages carry the key', async () => {
    const { vault, key } = await agentWithKey('mcp-key');
    const transport = new SSEClientTransport(new URL(`${api.origin}/sse`), { vault, secret: 'mcp-key' });
    await transport.start();
    await transport.send({ jsonrpc: '2.0', id: 1, method: 'ping' });
    await transport.close();
    expect(api.requests.map((r) => [r.method, r.url, r.headers.authorization])).toEqual([
      ['GET', '/sse', `Bearer ${key}`],
      ['POST', '/messages', `Bearer ${key}`],
    ]);
  });

  it('attack: a server echoing the token in a JSON-RPC error (200 JSON, 200 event, 401) does not reach the client', async () => {
    const { vault, key } = await agentWithKey('mcp-key');
    for (const path of ['/echo-json', '/echo-sse', '/echo-401']) {
      const transport = new StreamableHTTPClientTransport(new URL(`${api.origin}${path}`), { vault, secret: 'mcp-key' });
      const seen: unknown[] = [];
      transport.onmessage = (message) => seen.push(message);
      transport.onerror = (error) => seen.push(error);
      await transport.start();
      seen.push(await transport.send({ jsonrpc: '2.0', id: 1, method: 'ping' }).catch((e: unknown) => e));
      await transport.close();
      expect(api.requests.at(-1)!.headers.authorization, path).toBe(`Bearer ${key}`);
      expect(seen.length, path).toBeGreaterThan(0);
      const rendered = renderings(seen);
      for (const form of forms(key)) expect(rendered, path).not.toContain(form);
    }
  });

  it('attack: an SSE endpoint event naming another origin gets neither the key nor a message', async () => {
    const { vault, key } = await agentWithKey('mcp-key');
    const transport = new SSEClientTransport(new URL(`${api.origin}/sse-away`), { vault, secret: 'mcp-key' });
    const started = await transport.start().then(() => 'started', (e: unknown) => e);
    await transport.send({ jsonrpc: '2.0', id: 1, method: 'ping' }).catch(() => undefined);
    await transport.close();
    expect(started).toBeInstanceOf(Error);
    expect(api.requests[0]!.headers.authorization).toBe(`Bearer ${key}`);
    expect(JSON.stringify(elsewhere.requests)).not.toContain(key);
  });

  it('attack: an SSE stream that drops is reopened with the key resolved again; revoked, it is not reopened again', async () => {
    const { vault, key, owner, resolutions } = await agentWithKey('mcp-key');
    const transport = new SSEClientTransport(new URL(`${api.origin}/sse-drop`), { vault, secret: 'mcp-key' });
    const errors: unknown[] = [];
    transport.onerror = (error) => errors.push(error);
    await transport.start();
    const gets = () => api.requests.filter((r) => r.url === '/sse-drop');
    await vi.waitFor(() => expect(gets().length).toBeGreaterThanOrEqual(2), { timeout: 10_000, interval: 5 });
    expect(gets().every((r) => r.headers.authorization === `Bearer ${key}`)).toBe(true);
    await owner.revokeAgent('test-agent');
    const resolvedBefore = resolutions.mock.calls.length;
    // Before the fix the EventSource asked the vault again every millisecond (thousands of audited refusals).
    await vi.waitFor(() => expect(errors.some((e) => (e as { code?: unknown }).code === 403)).toBe(true), { timeout: 10_000, interval: 5 });
    const eventSource = (transport as unknown as { _eventSource: { readyState: number; CLOSED: number } })._eventSource;
    expect(eventSource.readyState).toBe(eventSource.CLOSED);
    // The refused reconnection, and at most one already on its way.
    expect(resolutions.mock.calls.length - resolvedBefore).toBeLessThanOrEqual(2);
    await transport.close();
  });

  it('attack: SSEClientTransport revoked before start: start() rejects with the VaultError, nothing sent, asked once', async () => {
    const { vault, owner, resolutions } = await agentWithKey('mcp-key');
    await owner.revokeAgent('test-agent');
    const transport = new SSEClientTransport(new URL(`${api.origin}/sse`), { vault, secret: 'mcp-key' });
    const error = await transport.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AccessDeniedError);
    expect(error).toMatchObject({ code: 'ACCESS_DENIED', reason: 'revoked' });
    expect(api.requests).toHaveLength(0);
    expect(resolutions).toHaveBeenCalledTimes(1);
    await transport.close();
  });

  it('attack: revoked mid-session, the next call rejects with the VaultError itself, unretried', async () => {
    const { vault, owner } = await agentWithKey('mcp-key');
    const client = new Client({ name: 'test-client', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${api.origin}/mcp`), { vault, secret: 'mcp-key' }));
    try {
      await owner.revokeAgent('test-agent');
      const before = api.requests.length;
      const error = await client.callTool({ name: 'echo', arguments: { text: 'hello' } }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AccessDeniedError);
      expect(error).toMatchObject({ code: 'ACCESS_DENIED', reason: 'revoked' });
      expect(api.requests.length).toBe(before);
    } finally {
      await client.close().catch(() => undefined);
    }
  });
});
