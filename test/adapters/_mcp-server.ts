/**
 * An MCP server for the MCP adapter tests, built on the SDK's own server and the shared loopback
 * server (streaming: the SDK's transport reads each request itself), recording what each request
 * carried.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';
import { type Received, startServer } from '../_fixtures/index.ts';

/**
 * A stateless MCP server with one tool, `echo`, at /mcp; /sse and /messages stand in for the old
 * HTTP+SSE protocol; `/away/*` redirects to `target`.
 */
export async function mcpServer(target?: () => string): Promise<{ origin: string; requests: Received[]; close(): Promise<void> }> {
  const server = await startServer((request, res, req) => {
    if (target && request.url.startsWith('/away/')) {
      res.writeHead(307, { location: `${target()}/${request.url.slice('/away/'.length)}` });
      res.end();
      return;
    }
    // The old HTTP+SSE protocol, just enough for the transport: an endpoint event, then 202s.
    if (request.url === '/sse') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('event: endpoint\ndata: /messages\n\n');
      return;
    }
    if (request.url === '/messages') {
      req.resume();
      res.writeHead(202);
      res.end();
      return;
    }
    const mcp = new McpServer({ name: 'echo-server', version: '1.0.0' });
    mcp.registerTool('echo', { inputSchema: { text: z.string() } }, async ({ text }) => ({ content: [{ type: 'text', text }] }));
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => void transport.close());
    void mcp.connect(transport).then(() => transport.handleRequest(req, res));
  }, { streaming: true });
  return { origin: server.origin, requests: server.requests, close: () => server.close() };
}
