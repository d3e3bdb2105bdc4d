/**
 * Vault refusals as responses, for the SDK adapters: an SDK treats a rejected fetch as a
 * connection failure and retries it, so the adapters' fetch answers a refusal with a synthetic
 * 403 instead, and the adapter takes the VaultError back by the id in its headers.
 */
import type { VaultError } from '../../src/errors.ts';
import { randomHex } from './_placeholders.ts';

/** The header that names a refusal on a synthetic response. */
const REFUSAL_HEADER = 'x-agent-vault-refusal';
const refusals = new Map<string, VaultError>();
const MAX_PENDING_REFUSALS = 256;

/**
 * A 403 that stands for a vault refusal: never retried (`x-should-retry: false` is honoured by
 * every Stainless SDK), with the error's code and message in the body, and an id by which the
 * adapter takes back the VaultError itself.
 */
export function refusalResponse(error: VaultError): Response {
  const id = randomHex();
  refusals.set(id, error);
  // Nobody may take it (a client built with withVault() alone): keep only the newest few.
  if (refusals.size > MAX_PENDING_REFUSALS) refusals.delete(refusals.keys().next().value!);
  const body = { error: { type: 'agent_vault_refusal', code: error.code, message: error.message } };
  return new Response(JSON.stringify(body), {
    status: 403,
    statusText: 'Refused by agent-vault',
    headers: { 'content-type': 'application/json', 'x-should-retry': 'false', [REFUSAL_HEADER]: id },
  });
}

/**
 * The VaultError behind a synthetic refusal response, given its headers (a `Headers`,
 * or the plain object openai v4 makes of them); undefined for any other response. Each refusal
 * is handed out once.
 */
export function takeRefusal(headers: unknown): VaultError | undefined {
  if (!headers || typeof headers !== 'object') return undefined;
  const id = typeof (headers as Headers).get === 'function'
    ? (headers as Headers).get(REFUSAL_HEADER)
    : (headers as Record<string, unknown>)[REFUSAL_HEADER];
  if (typeof id !== 'string') return undefined;
  const error = refusals.get(id);
  refusals.delete(id);
  return error;
}
