/**
 * `agent-vault/fetch`: a vault-aware `fetch` for any SDK or HTTP client that takes a custom one.
 *
 *   const fetch = createVaultFetch(vault, { secret: 'mistral-api-key', origin: 'https://api.mistral.ai' });
 *   const client = new Mistral({ apiKey: fetch.placeholder, fetchOptions: { fetch } });
 *
 * The OpenAI and Anthropic adapters are built on the same function.
 */
import type { VaultError } from '../src/errors.ts';
import {
  buildVaultFetch, createPlaceholder, takeRefusal, type VaultFetch, type VaultFetchOptions, type VaultLike,
} from './transport/index.ts';

export type { FetchLike, VaultFetch, VaultFetchOptions, VaultLike } from './transport/index.ts';
export { isPlaceholder } from './transport/index.ts';

/**
 * A fetch that, for each request to `origin`, resolves `secret` from `vault` and writes it over
 * the placeholder (`fetch.placeholder`, to be given to the SDK as its API key) in whichever
 * header carries it: `Authorization: Bearer …`, `x-api-key`, `api-key`; or sets `header` when
 * no header carries it. The decrypted bytes are wiped when the response headers arrive (for an
 * error status, once its body has been read and searched, see below).
 *
 * What the server echoes of the key (as sent, or JSON-escaped) is replaced with `[redacted by
 * agent-vault]` before the response is returned: in header values and the status text always,
 * in the body of any non-2xx response, of which at most the first MiB is kept, and in a 2xx
 * event stream as it streams (an in-band error event). Any other 2xx body streams through as sent.
 *
 * Requests to any other origin, and redirects that leave `origin`, go out without the key and
 * without the placeholder. Redirects are followed by hand, each hop checked.
 *
 * When the vault refuses (not granted, expired, revoked, audit failure) nothing is sent, and the
 * fetch answers with a synthetic `403 Refused by agent-vault` (`x-should-retry: false`, body
 * `{ error: { type: 'agent_vault_refusal', code, message } }`): every SDK and framework treats a
 * 403 as final, where a rejected fetch is a "connection error" they retry for a minute or more
 * (LangChain, Stainless SDKs). `vaultErrorOf(response)` gives back the VaultError itself. With
 * `{ refusals: 'reject' }` the promise rejects with the VaultError instead, for your own code.
 */
export function createVaultFetch(vault: VaultLike, options: CreateVaultFetchOptions): VaultFetch {
  const { refusals = 'respond', ...fetchOptions } = options ?? ({} as CreateVaultFetchOptions);
  return buildVaultFetch(vault, fetchOptions, { placeholder: createPlaceholder(), refusals });
}

export interface CreateVaultFetchOptions extends VaultFetchOptions {
  /** `'respond'` (default): a refusal is a 403 response no client retries. `'reject'`: the promise rejects with the VaultError. */
  refusals?: 'respond' | 'reject';
}

/** The VaultError behind a refusal response from a vault fetch (once); undefined for any other response. */
export function vaultErrorOf(response: { headers: unknown }): VaultError | undefined {
  return takeRefusal(response?.headers);
}
