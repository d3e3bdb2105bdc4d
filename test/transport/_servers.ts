/**
 * Loopback servers for the transport tests: HTTP or HTTPS (a self-signed certificate made by
 * openssl at run time), counting connections and recording what arrived.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  /** Header lines exactly as they arrived (names and values). */
  rawHeaders: string[];
  body: Buffer;
}

export interface TestServer {
  /** `http://127.0.0.1:<port>` or `https://localhost:<port>` */
  origin: string;
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

/** A self-signed certificate for localhost and 127.0.0.1; undefined when openssl is missing. */
export function selfSigned(): Certificate | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'agent-vault-tls-'));
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ], { stdio: 'ignore' });
    return { cert: readFileSync(join(dir, 'cert.pem')), key: readFileSync(join(dir, 'key.pem')) };
  } catch {
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Start a server; `handler` answers once the whole request body has arrived (unless `streaming`). */
export async function startServer(handler: Handler, options: { tls?: Certificate; streaming?: boolean } = {}): Promise<TestServer> {
  const requests: Received[] = [];
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    const received = (): Received => ({
      method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders, body: Buffer.concat(chunks),
    });
    if (options.streaming) {
      requests.push(received());
      handler(requests.at(-1)!, res, req);
      return;
    }
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      requests.push(received());
      handler(requests.at(-1)!, res, req);
    });
  };
  const server = options.tls ? https.createServer({ cert: options.tls.cert, key: options.tls.key }, listener) : http.createServer(listener);
  const state = { connections: 0 };
  server.on(options.tls ? 'secureConnection' : 'connection', () => state.connections++);
  server.keepAliveTimeout = 5000;
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

/** Answer with the request echoed back as JSON. */
export const echo: Handler = (request, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({
    method: request.method, url: request.url, headers: request.headers, body: request.body.toString('latin1'),
  }));
};
