/**
 * `agent-vault/fetch`: a vault-aware `fetch` for any SDK or HTTP client that takes a custom one.
 *
 *   const fetch = createVaultFetch(vault, { secret: 'mistral-api-key', origin: 'https://api.mistral.ai' });
 *   const client = new Mistral({ apiKey: fetch.placeholder, fetchOptions: { fetch } });
 *
 * The OpenAI and Anthropic adapters are built on the same function.
 */
import { buildVaultFetch, createPlaceholder, type VaultFetch, type VaultFetchOptions, type VaultLike } from './transport/index.ts';

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
 * When the vault refuses (not granted, expired, revoked, audit failure) the returned promise
 * rejects with that `VaultError` and nothing is sent. Note that an SDK given this fetch directly
 * may treat a rejection as a connection error and retry it; the `agent-vault/openai` and
 * `agent-vault/anthropic` clients surface the VaultError without retrying.
 */
export function createVaultFetch(vault: VaultLike, options: VaultFetchOptions): VaultFetch {
  return buildVaultFetch(vault, options, { placeholder: createPlaceholder(), refusals: 'reject' });
}
