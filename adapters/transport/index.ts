/**
 * The transport wing: how a request that needs the vault's key reaches the wire.
 *
 * - `_vault-fetch.ts`: the one vault-aware fetch every adapter is built on; it owns redirects
 *   (`_redirects.ts`) and puts the key in, or the hardened transport's one-time placeholder.
 * - `_choice.ts`: which transport a fetch uses (`'auto' | 'hardened' | 'standard'`), and the
 *   hardened path of one request.
 * - `_hardened.ts`, `_injection.ts`, `_http-response.ts`: the hardened transport, a fetch over
 *   node:http(s) that sends exactly one hop and whose sockets write the key over a placeholder
 *   (loaded on first use, so importing an adapter needs no node:* module).
 * - `_redact.ts`, `_redact-stream.ts`, `_echo.ts`: what the API echoes of the key (as itself,
 *   `\u`-escaped or percent-encoded; in headers, error bodies, event streams and transport
 *   errors' cause chains), replaced before the caller sees it; `_redact-incoming.ts`, the same
 *   for a node:http response the broker writes on as it is.
 * - `_request.ts`, `_key-bytes.ts`, `_placeholders.ts`, `_refusals.ts`: the helpers they share.
 *
 * Only what the adapters need leaves this folder, and what the broker (src/broker/) needs to
 * send one request with the key put in at the socket: `armRequest` (and its `sendNode`, whose
 * answer comes redacted) and `redactResponse`.
 */
export {
  buildVaultFetch,
  type FetchLike,
  type VaultFetch,
  type VaultFetchInternals,
  type VaultFetchOptions,
  type VaultLike,
} from './_vault-fetch.ts';
export type { TransportOption } from './_choice.ts';
export { createPlaceholder, isPlaceholder } from './_placeholders.ts';
export { takeRefusal } from './_refusals.ts';
export { type ArmedRequest, armRequest } from './_choice.ts';
export { redactResponse } from './_redact.ts';
export type { IncomingAnswer } from './_redact-incoming.ts';
export type { NodeExchange, NodeHop } from './_hardened.ts';
