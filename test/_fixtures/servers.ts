/**
 * Loopback servers for the adapter, transport and security tests: HTTP or HTTPS (a self-signed
 * certificate made by openssl at run time), counting connections and recording exactly what
 * arrived (method, path, headers as parsed and as sent, body), so tests assert on what a
 * provider would have received.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { tempDir } from './temp.ts';

export interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  /** Header lines exactly as they arrived (names and values). */
  rawHeaders: string[];
  /** The body as UTF-8 text (empty for a `streaming` server: the handler reads the request). */
  body: string;
  /** The body's bytes, as they arrived. */
  bytes: Buffer;
}

export interface TestServer {
  /** `http://127.0.0.1:<port>` or `https://localhost:<port>` */
  origin: string;
  /** Every request, in arrival order. */
  requests: Received[];
  /** Connections accepted so far. */
  connections: number;
  close(): Promise<void>;
}

export type Handler = (request: Received, res: ServerResponse, req: IncomingMessage) => void;

export interface Certificate {
  cert: Buffer;
  key: Buffer;
}

export interface ServerOptions {
  /** Serve HTTPS with this certificate (see `selfSigned`). Default: plain HTTP. */
  tls?: Certificate;
  /** Call `handler` as soon as the head arrives, instead of after the whole body. */
  streaming?: boolean;
  /** How long an idle keep-alive connection stays open. Default: 5 s. */
  keepAliveMs?: number;
}

/** A self-signed certificate for localhost and 127.0.0.1; undefined when openssl is missing. */
export function selfSigned(): Certificate | undefined {
  const dir = tempDir('agent-vault-tls-');
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ], { stdio: 'ignore' });
    return { cert: readFileSync(join(dir, 'cert.pem')), key: readFileSync(join(dir, 'key.pem')) };
  } catch {
    return undefined;
  }
}

/** Start a server; `handler` answers once the whole request body has arrived (unless `streaming`). */
export async function startServer(handler: Handler, options: ServerOptions = {}): Promise<TestServer> {
  const requests: Received[] = [];
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    const arrived = () => {
      const bytes = Buffer.concat(chunks);
      requests.push({
        method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders, body: bytes.toString(), bytes,
      });
      handler(requests.at(-1)!, res, req);
    };
    if (options.streaming) return arrived();
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', arrived);
  };
  const server = options.tls ? https.createServer({ cert: options.tls.cert, key: options.tls.key }, listener) : http.createServer(listener);
  const state = { connections: 0 };
  server.on(options.tls ? 'secureConnection' : 'connection', () => state.connections++);
  server.keepAliveTimeout = options.keepAliveMs ?? 5000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: options.tls ? `https://localhost:${port}` : `http://127.0.0.1:${port}`,
    requests,
    get connections() {
      return state.connections;
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/**
 * A `serve(handler?, options?)` for a test file or describe block: each call starts a server
 * (answering with `fallback`, and with `defaults`, where not given), and every server it started
 * closes after each test.
 */
export function servePerTest(
  fallback: Handler, defaults: ServerOptions = {},
): (handler?: Handler, options?: ServerOptions) => Promise<TestServer> {
  const servers: TestServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.close()));
  });
  return async (handler = fallback, options = defaults) => {
    const server = await startServer(handler, options);
    servers.push(server);
    return server;
  };
}

/** Answer with the request echoed back as JSON. */
export const echo: Handler = (request, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({
    method: request.method, url: request.url, headers: request.headers, body: request.bytes.toString('latin1'),
  }));
};
