/**
 * `agent-vault/mcp`: the MCP TypeScript SDK's HTTP client transports (Streamable HTTP, and the
 * older SSE) for servers that take an API key, with the key resolved from the vault per request.
 *
 *   import { StreamableHTTPClientTransport } from 'agent-vault/mcp';
 *   const transport = new StreamableHTTPClientTransport(new URL('https://mcp.example.com/mcp'), {
 *     vault, secret: 'example-mcp-key',                     // sent as Authorization: Bearer <key>
 *   });
 *   await client.connect(transport);
 *
 * Subclasses of the SDK's transports: every other option is theirs. The transport holds no key;
 * each HTTP request to the server URL's origin (the JSON-RPC POSTs and the SSE stream) resolves
 * it and sends it in `header` (default `Authorization: Bearer`); no other origin ever receives
 * it, across redirects included. A vault refusal rejects the request with the VaultError,
 * nothing sent. For servers that use OAuth, pass the SDK's `authProvider` to the SDK's own
 * transport instead; the two are not combined. `@modelcontextprotocol/sdk` is an optional peer
 * dependency; only this subpath loads it.
 */
import { SSEClientTransport as SSEClientTransportBase, type SSEClientTransportOptions } from '@modelcontextprotocol/sdk/client/sse.js';
import {
  StreamableHTTPClientTransport as StreamableHTTPClientTransportBase, type StreamableHTTPClientTransportOptions,
} from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UsageError } from '../src/errors.ts';
import type { VaultBinding } from './_client.ts';
import { createVaultFetch, type FetchLike } from './fetch.ts';

export type { VaultBinding } from './_client.ts';

export interface McpVaultBinding extends VaultBinding {
  /** The header the key goes in. Default `'authorization'`. */
  header?: string;
  /** Its value's prefix. Default `'Bearer'` for `authorization`, else none (the bare key). */
  scheme?: string;
}

/** The transport's options without `authProvider`, plus `{ vault, secret }`. */
export type VaultStreamableHTTPOptions = Omit<StreamableHTTPClientTransportOptions, 'authProvider'> & McpVaultBinding;
export type VaultSSEOptions = Omit<SSEClientTransportOptions, 'authProvider'> & McpVaultBinding;

/** `new StreamableHTTPClientTransport(url, { vault, secret, ...options })`. */
export class StreamableHTTPClientTransport extends StreamableHTTPClientTransportBase {
  constructor(url: URL, options: VaultStreamableHTTPOptions) {
    super(url, withVault(url, options, 'StreamableHTTPClientTransport'));
  }
}

/** `new SSEClientTransport(url, { vault, secret, ...options })` (the SDK's deprecated HTTP+SSE transport). */
export class SSEClientTransport extends SSEClientTransportBase {
  constructor(url: URL, options: VaultSSEOptions) {
    super(url, withVault(url, options, 'SSEClientTransport'));
  }
}

/**
 * Options for an SDK transport you construct yourself: `fetch` becomes a vault fetch (wrapping
 * yours) that puts the key in for `url`'s origin only.
 */
export function withVault<O extends { fetch?: unknown; authProvider?: unknown }>(
  url: URL | string,
  options: O & McpVaultBinding,
  className = 'MCP transport',
): Omit<O, keyof McpVaultBinding> & { fetch: FetchLike } {
  const { vault, secret, transport, header = 'authorization', scheme, ...sdkOptions } = options ?? ({} as O & McpVaultBinding);
  if (sdkOptions.authProvider != null) {
    throw new UsageError(
      `The agent-vault ${className} sends an API key from the vault; it takes no authProvider. For an OAuth ` +
        "server, use the SDK's own transport with your authProvider.",
    );
  }
  const fetch = createVaultFetch(vault, { secret, origin: url, header, scheme, fetch: sdkOptions.fetch as FetchLike | undefined, transport });
  return { ...sdkOptions, fetch } as never;
}
