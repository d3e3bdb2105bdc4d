/**
 * A local stand-in for the OpenAI API that answers the way real providers do, since what a
 * response carries decides what the agent does with the key (the redaction decrypts it only to
 * search values at least as long as it):
 *
 * - every response has Cloudflare's long `set-cookie` headers (~250 characters), request ids,
 *   rate-limit and processing headers, and the base URL is an Azure-like deployment path with an
 *   `api-version` query (response URLs over 100 characters);
 * - `stream: true` answers with server-sent events;
 * - a request for model `echo-401` is rejected with a 401 whose body quotes the key it was sent
 *   (as an `\u`-escaped JSON string), whose `www-authenticate` header does not, as gateways do.
 *
 * It can hold a request open (the "in flight" moment) until told to answer. It runs in the
 * harness process, never in the agent process whose memory is measured.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';

export interface Provider {
  /** The base URL to give the SDK, e.g. `https://127.0.0.1:41234/openai/deployments/…/v1`. */
  baseURL: string;
  /** Hold the next request open until `release()`; resolves when it has arrived. */
  holdNext(): Promise<void>;
  release(): void;
  /** The `Authorization` header of every request received, in order. */
  authorizations: string[];
  close(): Promise<void>;
}

/** An Azure-like deployment path: long, so that response URLs are longer than short keys. */
export const DEPLOYMENT_PATH = '/openai/deployments/gpt-4o-mini-2024-07-18-exposure-harness-eastus2-prod/v1';

const token = (bytes: number) => randomBytes(bytes).toString('base64url');

/** Headers as api.openai.com (behind Cloudflare) sends them: several over 160 characters. */
function realisticHeaders(): Record<string, string | string[]> {
  return {
    'x-request-id': `req_${randomBytes(16).toString('hex')}`,
    'apim-request-id': crypto.randomUUID(),
    'openai-processing-ms': '412',
    'openai-organization': `org-${token(18)}`,
    'x-ratelimit-limit-tokens': '30000000',
    'x-ratelimit-reset-requests': '6ms',
    'cf-ray': `${randomBytes(8).toString('hex')}-IAD`,
    'set-cookie': [
      `__cf_bm=${token(120)}-${Math.floor(Date.now() / 1000)}-1.0.1.1-${token(60)}; path=/; ` +
        'expires=Tue, 01-Dec-26 21:00:00 GMT; domain=.api.openai.com; HttpOnly; Secure; SameSite=None',
      `_cfuvid=${token(40)}-${Date.now()}-0.0.1.1-604800000; path=/; domain=.api.openai.com; HttpOnly; Secure; SameSite=None`,
    ],
  };
}

function completion(): string {
  return JSON.stringify({
    id: `chatcmpl-${token(21)}`, object: 'chat.completion', created: 0, model: 'gpt-exposure',
    choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: 'ok' } }],
    usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
  });
}

function events(): string {
  const chunk = (content: string, finish: string | null) => `data: ${JSON.stringify({
    id: 'chatcmpl-stream', object: 'chat.completion.chunk', created: 0, model: 'gpt-exposure',
    choices: [{ index: 0, delta: { content }, finish_reason: finish }],
  })}\n\n`;
  return chunk('o', null) + chunk('k', 'stop') + 'data: [DONE]\n\n';
}

/** JSON with every character `\u`-escaped: a key quoted this way is not its own bytes. */
export function uEscaped(text: string): string {
  return Array.from(text, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`).join('');
}

export async function startProvider(tls?: { cert: Buffer; key: Buffer }): Promise<Provider> {
  const authorizations: string[] = [];
  let hold: { arrived: () => void; answer?: () => void } | undefined;
  const handler: http.RequestListener = (request, response) => {
    const authorization = request.headers.authorization ?? '';
    authorizations.push(authorization);
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const asked = JSON.parse(Buffer.concat(chunks).toString() || '{}') as { model?: string; stream?: boolean };
      const answer = () => {
        const headers = realisticHeaders();
        if (asked.model === 'echo-401') {
          const key = authorization.replace(/^Bearer /, '');
          const body = `{"error":{"message":"Incorrect API key provided: ${uEscaped(key)}.","type":"invalid_request_error","code":"invalid_api_key"}}`;
          response.writeHead(401, { ...headers, 'content-type': 'application/json', 'www-authenticate': 'Bearer realm="OpenAI API"' });
          return response.end(body);
        }
        if (asked.stream) {
          response.writeHead(200, { ...headers, 'content-type': 'text/event-stream' });
          return response.end(events());
        }
        const body = completion();
        response.writeHead(200, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        response.end(body);
      };
      if (hold) {
        hold.answer = answer;
        hold.arrived();
      } else {
        answer();
      }
    });
  };
  const server = tls ? https.createServer({ cert: tls.cert, key: tls.key }, handler) : http.createServer(handler);
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `${tls ? 'https' : 'http'}://127.0.0.1:${port}${DEPLOYMENT_PATH}`,
    authorizations,
    holdNext() {
      return new Promise<void>((arrived) => (hold = { arrived }));
    },
    release() {
      const answer = hold?.answer;
      hold = undefined;
      answer?.();
    },
    async close() {
      server.closeAllConnections();
      server.close();
    },
  };
}
