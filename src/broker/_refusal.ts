/**
 * The broker's own answers (a refused key, an unknown route, a vault refusal, a request too
 * large), written in the JSON error shape of the route's provider so its SDK raises its usual
 * error class with our message. Statuses are ones no SDK retries (401, 403, 404, 413), plus
 * `x-should-retry: false`, which the Stainless SDKs (openai, anthropic, groq) honour: a retry
 * could not succeed, and would only write more refusals to the audit log.
 */
import type { ServerResponse } from 'node:http';
import type { ErrorShape } from './routes.ts';

export type RefusalKind = 'authentication' | 'permission' | 'not-found' | 'too-large' | 'bad-request' | 'upstream';

const STATUS: Record<RefusalKind, number> = {
  authentication: 401, permission: 403, 'not-found': 404, 'too-large': 413, 'bad-request': 400,
  // The provider could not be reached: the one answer a retry may fix, so it is a 502.
  upstream: 502,
};

const OPENAI_TYPE: Record<RefusalKind, string> = {
  authentication: 'invalid_request_error', permission: 'permission_error', 'not-found': 'invalid_request_error',
  'too-large': 'invalid_request_error', 'bad-request': 'invalid_request_error', upstream: 'api_error',
};

const ANTHROPIC_TYPE: Record<RefusalKind, string> = {
  authentication: 'authentication_error', permission: 'permission_error', 'not-found': 'not_found_error',
  'too-large': 'request_too_large', 'bad-request': 'invalid_request_error', upstream: 'api_error',
};

const GOOGLE_STATUS: Record<RefusalKind, string> = {
  authentication: 'UNAUTHENTICATED', permission: 'PERMISSION_DENIED', 'not-found': 'NOT_FOUND',
  'too-large': 'INVALID_ARGUMENT', 'bad-request': 'INVALID_ARGUMENT', upstream: 'UNAVAILABLE',
};

/** The body of a refusal in `shape`; `code` is ours (e.g. `bad-phantom-key`), stable for scripts. */
export function refusalBody(shape: ErrorShape, kind: RefusalKind, code: string, message: string): object {
  const status = STATUS[kind];
  switch (shape) {
    case 'anthropic':
      return { type: 'error', error: { type: ANTHROPIC_TYPE[kind], message } };
    case 'google':
      return { error: { code: status, message, status: GOOGLE_STATUS[kind] } };
    case 'mistral':
      return { object: 'error', message, type: OPENAI_TYPE[kind], param: null, code };
    default:
      return { error: { message, type: OPENAI_TYPE[kind], param: null, code } };
  }
}

/** Answer `res` with a refusal; returns the status sent (for the audit record). */
export function sendRefusal(res: ServerResponse, shape: ErrorShape, kind: RefusalKind, code: string, message: string): number {
  const status = STATUS[kind];
  if (res.headersSent) {
    res.destroy();
    return status;
  }
  const body = JSON.stringify(refusalBody(shape, kind, code, `agent-vault broker: ${message}`));
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'x-should-retry': kind === 'upstream' ? 'true' : 'false',
    'x-agent-vault-refusal': code,
  });
  res.end(body);
  return status;
}
