/**
 * Handlers for the loopback servers of the adapter tests (`test/_fixtures/servers.ts`): stand-ins
 * for the providers, and readers of what a request carried.
 */
import { respondLikeProvider } from '../../examples/_local-provider.ts';
import type { ServerResponse } from 'node:http';
import type { Received, ServerOptions, TestServer } from '../_fixtures/servers.ts';

/** A provider stand-in answers from the buffered request alone (it never reads the stream). */
export type Handler = (request: Received, res: ServerResponse) => void;

/** Idle connections close after 100 ms, so SDK clients' pooled sockets settle before heap snapshots. */
export const PROVIDER_SERVER: ServerOptions = { keepAliveMs: 100 };

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
