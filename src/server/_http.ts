/**
 * The HTTP face of the server, on node:http (a dozen JSON routes need no framework, and a
 * security server is better with one less dependency). Limits come before any work: a body
 * cap, a connection cap, header and request timeouts, and a token bucket per principal (per
 * agent, the owner, and per address for unauthenticated calls). Every refusal is JSON
 * `{ error: { code, message, reason? } }` with a stable code.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { bytesToHex } from '../_bytes.ts';
import type { AuditEvent } from '../audit/index.ts';
import { toBase64Url, utf8 } from '../crypto.ts';
import { AccessDeniedError, BackendError, isVaultError, UsageError, type VaultError } from '../errors.ts';
import { type VaultService, WriteConflictError } from './_policy.ts';
import { bytes, entryFromJson, entryToJson, parseAuthorization, type Principal, stateFromJson, stateToJson } from './_wire.ts';

export interface ServerLimits {
  /** Largest request body in bytes. Default 1 MiB. */
  maxBodyBytes?: number;
  /** Requests per second each principal may make (token bucket). Default 2000. */
  ratePerSecond?: number;
  /** Requests a principal may make in one burst. Default 2 × ratePerSecond. */
  burst?: number;
  /** Open connections at once; more are refused by the socket layer. Default 1024. */
  maxConnections?: number;
}

/** A refusal the HTTP layer makes itself (too large, too fast), with its status. */
class Refusal extends BackendError {
  readonly status: number;
  readonly reason: string;
  constructor(status: number, reason: string, message: string) {
    super(message);
    this.status = status;
    this.reason = reason;
  }
}

const STATUS: Record<string, number> = {
  USAGE: 400, ACCESS_DENIED: 403, TOKEN_EXPIRED: 403, INTEGRITY: 422, VAULT_EXISTS: 409, VAULT_NOT_FOUND: 404,
  SECRET_NOT_FOUND: 404, BACKEND: 503, AUDIT: 503, MISSING_PEER: 500,
};

export function createHttpServer(
  service: VaultService, limits: ServerLimits = {}, now: () => number = Date.now,
  tls?: { cert: string | Buffer; key: string | Buffer },
): Server {
  const maxBody = limits.maxBodyBytes ?? 1024 * 1024;
  const rate = limits.ratePerSecond ?? 2000;
  const buckets = new TokenBuckets(rate, limits.burst ?? rate * 2, now);
  const settings = { headersTimeout: 10_000, requestTimeout: 30_000, keepAliveTimeout: 5_000 };
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    void handle(req, res).catch((error) => reply(res, errorStatus(error), errorBody(error)));
  };
  const server: Server = tls ? createTlsServer({ ...settings, cert: tls.cert, key: tls.key }, listener) : createServer(settings, listener);
  server.maxConnections = limits.maxConnections ?? 1024;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://server');
    const route = `${req.method} ${url.pathname}`;
    if (route === 'GET /v1/health') {
      const vault = await service.describe().catch(() => undefined);
      return reply(res, 200, { ok: true, store: service.storeName, vault: vault ? bytesToHex(vault.vaultId) : null });
    }
    const principal = parseAuthorization(req.headers.authorization);
    // Keyed by the claimed principal and the address, before any auth work: a stranger claiming
    // an agent's locator from elsewhere drains its own bucket, not the agent's.
    const bucket = `${principal?.kind === 'agent' ? `agent:${principal.loc}` : principal?.kind ?? 'anonymous'}@${req.socket.remoteAddress}`;
    if (!buckets.take(bucket)) throw new Refusal(429, 'rate-limited', 'Too many requests from this principal; slow down and retry.');
    if (route === 'GET /v1/vault') {
      const vault = await service.describe();
      if (!vault) return reply(res, 404, { error: { code: 'VAULT_NOT_FOUND', message: 'This server holds no vault yet. Create one: agent-vault init --server URL' } });
      return reply(res, 200, { vaultId: bytesToHex(vault.vaultId), ownerPublicKey: toBase64Url(vault.ownerPublicKey), unlock: JSON.parse(vault.unlock) });
    }
    if (route === 'GET /v1/audit') {
      const after = Number(url.searchParams.get('after') ?? 0);
      const limit = Math.min(Number(url.searchParams.get('limit') ?? 1000), 10_000);
      if (!Number.isSafeInteger(after) || after < 0 || !Number.isSafeInteger(limit) || limit < 1) throw new UsageError('after and limit are non-negative integers.');
      const lines = await service.auditLines(need(principal), after, limit);
      return reply(res, 200, { lines: lines.map((line) => utf8.decode(line)) });
    }
    if (req.method !== 'POST') throw new Refusal(404, 'no-route', `No route ${route}. See agent-vault serve --help.`);
    const body = await readJson(req, maxBody);
    switch (url.pathname) {
      case '/v1/vault': {
        const state = await service.create({
          ownerPublicKey: bytes(body.ownerPublicKey, 'The owner public key'),
          ownerVerifier: bytes(body.ownerVerifier, 'The owner verifier'),
          auditKey: bytes(body.auditKey, 'The audit key'),
          header: entryFromJson(body.header, 'The header entry'),
          state: stateFromJson(body.state, 'The state'),
        });
        return reply(res, 201, { state: stateToJson(state) });
      }
      case '/v1/read': {
        const result = await service.read(need(principal), body.keys as string[]);
        return reply(res, 200, { state: stateToJson(result.state), entries: result.entries.map(entryToJson) });
      }
      case '/v1/list': {
        const result = await service.list(need(principal), body.prefix as string);
        return reply(res, 200, { state: stateToJson(result.state), keys: result.keys });
      }
      case '/v1/write': {
        await service.owner(need(principal)); // before parsing: a stranger learns nothing from the error
        if (!Array.isArray(body.entries)) throw new UsageError('A write carries { state, entries }.');
        const entries = body.entries.map((entry: unknown) => entryFromJson(entry, 'An entry'));
        const state = await service.write(need(principal), stateFromJson(body.state, 'The state'), entries);
        return reply(res, 200, { state: stateToJson(state) });
      }
      case '/v1/audit':
        await service.ownerEvents(need(principal), body.events as AuditEvent[]);
        return reply(res, 200, { ok: true });
      case '/v1/lease':
        return reply(res, 200, { ok: await service.lease(need(principal), body.holder as string, body.ttlMs as number) });
      case '/v1/release':
        await service.release(need(principal), body.holder as string);
        return reply(res, 200, { ok: true });
      default:
        throw new Refusal(404, 'no-route', `No route ${route}. See agent-vault serve --help.`);
    }
  }
  return server;
}

function need(principal: Principal | undefined): Principal {
  if (!principal) throw new AccessDeniedError('bad-token', 'This call needs an Authorization header from an agent-vault client.');
  return principal;
}

async function readJson(req: IncomingMessage, maxBytes: number): Promise<Record<string, unknown>> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > maxBytes) {
    req.resume();
    throw new Refusal(413, 'too-large', `The request is over ${maxBytes} bytes; the server refuses it (serve --max-body).`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) {
      req.destroy();
      throw new Refusal(413, 'too-large', `The request is over ${maxBytes} bytes; the server refuses it (serve --max-body).`);
    }
    chunks.push(chunk);
  }
  try {
    const value = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    if (value && typeof value === 'object' && !Array.isArray(value)) return value;
  } catch {
    // fall through
  }
  throw new UsageError('The request body is not a JSON object.');
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return void res.destroy();
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

function errorStatus(error: unknown): number {
  if (error instanceof Refusal) return error.status;
  if (error instanceof WriteConflictError) return 409;
  if (error instanceof AccessDeniedError && error.reason === 'bad-token') return 401;
  return isVaultError(error) ? (STATUS[error.code] ?? 500) : 500;
}

function errorBody(error: unknown): unknown {
  if (!isVaultError(error)) {
    // Not ours: say nothing about it on the wire (a driver message could name the database).
    process.stderr.write(`agent-vault serve: unexpected ${(error as Error)?.name ?? 'error'}: ${(error as Error)?.message}\n`);
    return { error: { code: 'BACKEND', message: 'The server failed unexpectedly; its log says why. Retry later.' } };
  }
  const reason = error instanceof Refusal ? error.reason : error instanceof WriteConflictError ? 'conflict'
    : error instanceof AccessDeniedError ? error.reason : undefined;
  return { error: { code: error.code, message: (error as VaultError).message, ...(reason ? { reason } : {}) } };
}

/** Per-principal token buckets, forgotten when full again so the map stays small. */
class TokenBuckets {
  readonly #rate: number;
  readonly #burst: number;
  readonly #now: () => number;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(rate: number, burst: number, now: () => number) {
    this.#rate = rate;
    this.#burst = burst;
    this.#now = now;
  }

  take(key: string): boolean {
    const now = this.#now();
    const bucket = this.#buckets.get(key) ?? { tokens: this.#burst, at: now };
    bucket.tokens = Math.min(this.#burst, bucket.tokens + ((now - bucket.at) / 1000) * this.#rate);
    bucket.at = now;
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    if (this.#buckets.size > 100_000) this.#buckets.clear();
    this.#buckets.set(key, bucket);
    return true;
  }
}
