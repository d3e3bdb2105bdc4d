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
 *
 * An MCP server answers errors inside a 200 (a JSON-RPC error), so every response body from the
 * server is searched for echoes of the key, not only error statuses and event streams.
 */
import { SSEClientTransport as SSEClientTransportBase, type SSEClientTransportOptions } from '@modelcontextprotocol/sdk/client/sse.js';
import {
  StreamableHTTPClientTransport as StreamableHTTPClientTransportBase, type StreamableHTTPClientTransportOptions,
} from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { isVaultError, UsageError, type VaultError } from '../src/errors.ts';
import type { VaultBinding } from './_client.ts';
import type { FetchLike } from './fetch.ts';
import { buildVaultFetch, createPlaceholder } from './transport/index.ts';

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

/**
 * `new SSEClientTransport(url, { vault, secret, ...options })` (the SDK's deprecated HTTP+SSE
 * transport). The SDK's EventSource reconnects after any failed fetch, forever, at the pace the
 * server sets (`retry:`): a refusal would be asked again and audited without end. So a refused
 * stream request is answered with a 403, which ends the stream for good; `start()` then rejects
 * with the VaultError, and `onerror` gets the SDK's SseError (code 403).
 */
export class SSEClientTransport extends SSEClientTransportBase {
  #refusal: VaultError | undefined;

  constructor(url: URL, options: VaultSSEOptions) {
    const sdkOptions = withVault(url, options, 'SSEClientTransport');
    const refused = (error: VaultError) => {
      // Set after super() returns; the stream is opened only by start(), later.
      transport.#refusal = error;
      return new Response(null, { status: 403, statusText: 'Refused by agent-vault' });
    };
    super(url, {
      ...sdkOptions,
      fetch: async (input, init) => {
        try {
          return await sdkOptions.fetch(input, init);
        } catch (error) {
          if (isVaultError(error) && (init?.method ?? 'GET').toUpperCase() === 'GET') return refused(error);
          throw error;
        }
      },
    });
    const transport = this;
  }

  override async start(): Promise<void> {
    try {
      await super.start();
    } catch (error) {
      const refusal = this.#refusal;
      this.#refusal = undefined;
      throw refusal ?? error;
    }
  }
}

/**
 * Options for an SDK transport you construct yourself: `fetch` becomes a vault fetch (wrapping
 * yours) that puts the key in for `url`'s origin only. With the SDK's own SSEClientTransport a
 * refusal makes its EventSource reconnect without end (use ours, above), and an
 * `eventSourceInit.fetch` of yours is used for the stream instead of this fetch (so the stream
 * goes without the key).
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
  const fetch = buildVaultFetch(
    vault,
    { secret, origin: url, header, scheme, fetch: sdkOptions.fetch as FetchLike | undefined, transport },
    { placeholder: createPlaceholder(), refusals: 'reject', successBodies: 'all' },
  );
  return { ...sdkOptions, fetch } as never;
}
