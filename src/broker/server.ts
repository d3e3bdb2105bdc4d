/**
 * The broker: an HTTP server on loopback (or, with TLS, beyond it) that proxies each route to
 * its provider with the key put in at the socket. `startBroker` is what `agent-vault exec` runs
 * in its own process and what `agent-vault broker` runs as a service.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { UsageError } from '../errors.ts';
import type { Vault } from '../vault.ts';
import { PhantomKeys } from './phantom.ts';
import { type BrokerLimits, handleRequest } from './_proxy.ts';
import { resolveRoutes, type Route } from './routes.ts';

export interface BrokerOptions {
  /** The vault the keys come from: opened with an agent token (every request is then that agent's). */
  vault: Pick<Vault, '_prepare' | '_auditBroker'>;
  /** The routes served. Default: the built-in ones, at the real provider origins. */
  routes?: readonly Route[];
  /** Address to listen on. Default `127.0.0.1`. Anything but loopback needs `tls`. */
  host?: string;
  /** Port. Default 0 (a free one, chosen by the OS). */
  port?: number;
  /** Certificate and key (PEM) to serve HTTPS with. Default: plain HTTP, loopback only. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Phantom keys; default a new, empty set. */
  keys?: PhantomKeys;
  /** Request limits; see BrokerLimits for the defaults. */
  limits?: Partial<BrokerLimits & BrokerConnectionLimits>;
  /** Where audit-write failures and unexpected errors go. Default: a line on stderr. */
  onError?: (error: unknown) => void;
}

export interface BrokerConnectionLimits {
  /** Largest request head (request line and headers), in bytes; bigger gets a 431. Default 32 KiB. */
  maxHeaderBytes: number;
  /** Open client connections at once; more are closed as they arrive. Default 512. */
  maxConnections: number;
  /** How long a client may take to send its request head, in ms. Default 30 000. */
  headersTimeoutMs: number;
  /** How long a client may take to send its whole request (head and body), in ms. Default 300 000. */
  requestTimeoutMs: number;
}

export interface Broker {
  /** `http://127.0.0.1:PORT` (or https://HOST:PORT). */
  readonly url: string;
  readonly keys: PhantomKeys;
  readonly routes: readonly Route[];
  /** The base URL a client of `route` uses: `${url}/${route}` plus the SDK's suffix (`/v1` for openai). */
  baseUrl(route: Route): string;
  /** Stop listening, cut open connections, and revoke every phantom key. */
  close(): Promise<void>;
}

const DEFAULTS: BrokerLimits & BrokerConnectionLimits = {
  maxBodyBytes: 32 * 1024 * 1024,
  upstreamTimeoutMs: 600_000,
  maxHeaderBytes: 32 * 1024,
  maxConnections: 512,
  headersTimeoutMs: 30_000,
  requestTimeoutMs: 300_000,
};

export async function startBroker(options: BrokerOptions): Promise<Broker> {
  const host = options.host ?? '127.0.0.1';
  if (!options.tls && !isLoopback(host)) {
    throw new UsageError(
      `The broker listens on ${host}, beyond loopback, only with TLS: give a certificate and key ` +
        '(--tls-cert, --tls-key), or listen on 127.0.0.1.',
    );
  }
  const limits = { ...DEFAULTS, ...options.limits };
  const routes = options.routes ?? resolveRoutes();
  const keys = options.keys ?? new PhantomKeys();
  const onError = options.onError ?? ((error: unknown) => {
    process.stderr.write(`agent-vault broker: ${error instanceof Error ? error.message : String(error)}\n`);
  });
  const context = { vault: options.vault, routes: new Map(routes.map((route) => [route.name, route])), keys, limits, onError };
  const listener = (req: http.IncomingMessage, res: http.ServerResponse) => {
    handleRequest(context, req, res).catch((error) => {
      onError(error);
      res.destroy();
    });
  };
  // requestTimeout bounds receiving a request (head and body), never a long streamed answer.
  const serverOptions = { maxHeaderSize: limits.maxHeaderBytes, headersTimeout: limits.headersTimeoutMs, requestTimeout: limits.requestTimeoutMs };
  const server = options.tls
    ? https.createServer({ ...serverOptions, cert: options.tls.cert, key: options.tls.key }, listener)
    : http.createServer(serverOptions, listener);
  server.maxConnections = limits.maxConnections;
  // A malformed request (bad framing, a head too large) gets Node's 400/431 and a closed socket.
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    const status = error.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
    if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    else socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `${options.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return {
    url,
    keys,
    routes,
    baseUrl: (route) => `${url}/${route.name}${route.env?.baseSuffix ?? ''}`,
    close: () => new Promise<void>((resolve) => {
      keys.revokeAll();
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
