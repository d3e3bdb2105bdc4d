/**
 * The HTTP client of a server vault: one JSON call per request over `fetch`, the principal's
 * Authorization header, and the server's JSON errors turned back into the same VaultError
 * classes the embedded vault throws. A server's message is shown to the user, so it is
 * stripped of control characters and cut short: a hostile server cannot drive the terminal.
 */
import {
  AccessDeniedError, type AccessDeniedReason, AuditError, BackendError, IntegrityError, SecretNotFoundError, TokenExpiredError,
  UsageError, type VaultError, VaultExistsError, VaultNotFoundError,
} from '../errors.ts';
import { authorization, type Principal } from './_wire.ts';

const REASONS = new Set<string>(['bad-token', 'wrong-vault', 'unknown-agent', 'revoked', 'rotated', 'not-granted', 'owner-only', 'wrong-unlock']);

/** A write lost a race with another owner (HTTP 409): the caller re-reads and retries. */
export class ConflictError extends BackendError {}

export class ServerClient {
  readonly #base: string;
  #principal: Principal | undefined;

  constructor(url: string) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new UsageError(`The server URL ${JSON.stringify(url)} is not a URL; use e.g. https://vault.internal:8443`);
    }
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new UsageError('The server URL must be http:// or https://.');
    this.#base = parsed.href.replace(/\/+$/, '');
  }

  get url(): string {
    return this.#base;
  }

  authenticate(principal: Principal): void {
    this.#principal = principal;
  }

  async call<T = Record<string, unknown>>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.#principal) headers.authorization = authorization(this.#principal);
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(`${this.#base}${path}`, {
        method, headers, body: body === undefined ? undefined : JSON.stringify(body), redirect: 'error',
      });
    } catch (cause) {
      throw new BackendError(`Cannot reach the vault server at ${this.#base}. Check AGENT_VAULT_SERVER and that \`agent-vault serve\` runs.`, { cause });
    }
    let json: unknown;
    try {
      json = await response.json();
    } catch {
      throw new BackendError(`The vault server at ${this.#base} answered ${response.status} without JSON; is it an agent-vault server?`);
    }
    if (!response.ok) throw errorFrom(response.status, json);
    if (!json || typeof json !== 'object') throw new BackendError(`The vault server at ${this.#base} answered with something other than a JSON object.`);
    return json as T;
  }
}

function errorFrom(status: number, json: unknown): VaultError {
  const error = (json as { error?: { code?: unknown; message?: unknown; reason?: unknown } })?.error ?? {};
  const message = `The vault server refused (${status}): ${clean(error.message)}`;
  const reason = typeof error.reason === 'string' ? error.reason : '';
  switch (error.code) {
    case 'ACCESS_DENIED':
      return new AccessDeniedError((REASONS.has(reason) ? reason : 'bad-token') as AccessDeniedReason, message);
    case 'TOKEN_EXPIRED': return new TokenExpiredError(message);
    case 'INTEGRITY': return new IntegrityError(message);
    case 'USAGE': return status === 409 ? new ConflictError(message) : new UsageError(message);
    case 'VAULT_EXISTS': return new VaultExistsError(message);
    case 'VAULT_NOT_FOUND': return new VaultNotFoundError(message);
    case 'SECRET_NOT_FOUND': return new SecretNotFoundError(message);
    case 'AUDIT': return new AuditError(message);
    default: return new BackendError(message);
  }
}

function clean(text: unknown): string {
  // biome-ignore lint: control characters are what this removes
  return typeof text === 'string' ? text.replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, ' ').slice(0, 300) : 'no reason given';
}
