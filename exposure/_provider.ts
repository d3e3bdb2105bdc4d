/**
 * A local stand-in for the OpenAI API: answers chat completions, and can hold a request open
 * (the "in flight" moment) until told to answer. It runs in the harness process, never in the
 * agent process whose memory is measured.
 */
import { once } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';

export interface Provider {
  /** The base URL to give the SDK, e.g. `https://127.0.0.1:41234/v1`. */
  baseURL: string;
  /** Hold the next request open until `release()`; resolves when it has arrived. */
  holdNext(): Promise<void>;
  release(): void;
  /** The `Authorization` header of every request received, in order. */
  authorizations: string[];
  close(): Promise<void>;
}

export async function startProvider(tls?: { cert: Buffer; key: Buffer }): Promise<Provider> {
  const authorizations: string[] = [];
  let hold: { arrived: () => void; answer?: () => void } | undefined;
  const handler: http.RequestListener = (request, response) => {
    authorizations.push(request.headers.authorization ?? '');
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const answer = () => {
        const body = JSON.stringify({
          id: 'chatcmpl-exposure', object: 'chat.completion', created: 0, model: 'gpt-exposure',
          choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: 'ok' } }],
          usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
        });
        response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
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
    baseURL: `${tls ? 'https' : 'http'}://127.0.0.1:${port}/v1`,
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
