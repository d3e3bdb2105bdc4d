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
 * HTTP+SSE protocol (`/sse-away`: an endpoint on `target`; `/sse-drop`: a stream that ends at
 * once); `/away/*` redirects to `target`; `/echo-json`, `/echo-sse`, `/echo-401` echo the
 * credential in a JSON-RPC error.
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
    // An endpoint on another origin; and a stream that drops at once (the client reconnects after 1 ms).
    if (request.url === '/sse-away' && target) {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`event: endpoint\ndata: ${target()}/messages\n\n`);
      return;
    }
    if (request.url === '/sse-drop') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end('retry: 1\nevent: endpoint\ndata: /messages\n\n');
      return;
    }
    // A server that echoes the credential: in a JSON-RPC error (HTTP 200, JSON or an event), or a 401.
    const echoed = /^\/echo-(json|sse|401)$/.exec(request.url)?.[1];
    if (echoed) {
      req.resume();
      const credential = String(request.headers.authorization ?? '').replace(/^Bearer /, '');
      const error = JSON.stringify({ jsonrpc: '2.0', id: 1, error: { code: -32001, message: `Invalid token: ${credential}` } });
      if (echoed === 'sse') {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.end(`event: message\ndata: ${error}\n\n`);
      } else {
        res.writeHead(echoed === 'json' ? 200 : 401, { 'content-type': 'application/json' });
        res.end(error);
      }
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
