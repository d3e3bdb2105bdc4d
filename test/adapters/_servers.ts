/**
 * Loopback HTTP servers for the adapter tests: each records exactly what arrived (method, path,
 * headers, body), so tests assert on what a provider would have received.
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { respondLikeProvider } from '../../examples/_local-provider.ts';

export interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface TestServer {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  /** Every request, in arrival order. */
  requests: Received[];
  close(): Promise<void>;
}

export type Handler = (request: Received, res: ServerResponse) => void;

export async function startServer(handler: Handler): Promise<TestServer> {
  const requests: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const received = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString() };
      requests.push(received);
      handler(received, res);
    });
  });
  server.keepAliveTimeout = 100;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** A stand-in for the OpenAI and Anthropic APIs (chat.completions, responses, messages, SSE too). */
export function providerHandler(): Handler {
  return (request, res) => respondLikeProvider(request.method, request.url, request.body, res);
}

/** Answer the first `count` requests with `status` (retryable, retry after 1 ms), then as `next`. */
export function failingFirst(count: number, status: number, next: Handler = providerHandler()): Handler {
  let failed = 0;
  return (request, res) => {
    if (failed++ < count) {
      res.writeHead(status, { 'content-type': 'application/json', 'retry-after-ms': '1' });
      res.end(JSON.stringify({ error: { message: 'try again', type: 'server_error' } }));
      return;
    }
    next(request, res);
  };
}

/** Redirect every request to `target` + the same path, with `status`. */
export function redirectingTo(target: () => string, status = 307): Handler {
  return (request, res) => {
    res.writeHead(status, { location: target() + request.url });
    res.end();
  };
}

/** The credential a request carried, whichever header it came in, or undefined. */
export function credentialOf(request: Received): string | undefined {
  const { authorization } = request.headers;
  if (authorization?.startsWith('Bearer ')) return authorization.slice('Bearer '.length);
  const key = request.headers['x-api-key'] ?? request.headers['api-key'];
  return Array.isArray(key) ? key[0] : key;
}

/** Which header carried the credential: `authorization`, `x-api-key`, `api-key`, or none. */
export function credentialHeader(request: Received): string | undefined {
  return ['authorization', 'x-api-key', 'api-key'].find((name) => request.headers[name] !== undefined);
}

/** Every header value of every request, for "the key appears nowhere" checks. */
export function everything(server: TestServer): string {
  return JSON.stringify(server.requests);
}
