/**
 * An MCP server on 127.0.0.1 for the MCP adapter tests, built on the SDK's own server, recording
 * what each request carried.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

export interface Seen { url: string; method: string; headers: IncomingHttpHeaders }

/**
 * A stateless MCP server with one tool, `echo`, at /mcp; /sse and /messages stand in for the old
 * HTTP+SSE protocol; `/away/*` redirects to `target`.
 */
export async function mcpServer(target?: () => string): Promise<{ origin: string; seen: Seen[]; close(): Promise<void> }> {
  const seen: Seen[] = [];
  const server: Server = createServer((req, res) => {
    seen.push({ url: req.url ?? '', method: req.method ?? '', headers: req.headers });
    if (target && req.url?.startsWith('/away/')) {
      res.writeHead(307, { location: `${target()}/${req.url.slice('/away/'.length)}` });
      res.end();
      return;
    }
    // The old HTTP+SSE protocol, just enough for the transport: an endpoint event, then 202s.
    if (req.url === '/sse') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('event: endpoint\ndata: /messages\n\n');
      return;
    }
    if (req.url === '/messages') {
      res.writeHead(202);
      res.end();
      return;
    }
    const mcp = new McpServer({ name: 'echo-server', version: '1.0.0' });
    mcp.registerTool('echo', { inputSchema: { text: z.string() } }, async ({ text }) => ({ content: [{ type: 'text', text }] }));
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => void transport.close());
    void mcp.connect(transport).then(() => transport.handleRequest(req, res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

