/**
 * `agent-vault/openai-agents`: the OpenAI Agents SDK (`@openai/agents`) with the key resolved
 * from the vault per request — for its model calls and for its trace export.
 *
 *   import { useVaultForAgents } from 'agent-vault/openai-agents';
 *   useVaultForAgents({ vault, secret: 'openai-api-key' });   // was: setDefaultOpenAIKey(key)
 *   await run(agent, 'Hello');
 *
 * The model calls go through our `OpenAI` client (agent-vault/openai): a placeholder on the
 * client, the key per HTTP attempt, only to `baseURL`'s origin, refusals as the VaultError.
 *
 * The SDK's own trace exporter calls the global `fetch` with a key it keeps in a module variable
 * (falling back to `OPENAI_API_KEY`), which no client option reaches; so it is replaced by
 * `VaultTracingExporter`, which posts the same spans through a vault fetch. Or pass
 * `tracing: false` to turn tracing off (announced with a process warning).
 *
 * Not covered: the Responses WebSocket transport (refused by our `OpenAIProvider`; set globally
 * with `setOpenAIResponsesTransport('websocket')` it sends only the placeholder) and realtime
 * (voice) agents, which take their key on connection. `@openai/agents` and `openai` are
 * optional peer dependencies; only this subpath loads the Agents SDK.
 */
import {
  BatchTraceProcessor, OpenAIProvider as OpenAIProviderBase, setDefaultOpenAIClient, setTraceProcessors, setTracingDisabled,
  type Span, type Trace, type TracingExporter,
} from '@openai/agents';
import { isVaultError, UsageError } from '../src/errors.ts';
import type { VaultBinding } from './_client.ts';
import { createVaultFetch, type VaultFetch } from './fetch.ts';
import { OpenAI, type OpenAIOptions } from './openai.ts';

export type { VaultBinding } from './_client.ts';

/** Where the SDK exports traces by default. */
export const OPENAI_TRACES_ENDPOINT = 'https://api.openai.com/v1/traces/ingest';

export interface VaultTracingOptions {
  /** The ingest URL; only its origin receives the key. Default: OpenAI's. */
  endpoint?: string;
  /** The secret holding the key traces are exported with. Default: the model calls' secret. */
  secret?: string;
  /** Sent as `OpenAI-Organization` / `OpenAI-Project`, as the SDK's exporter does. */
  organization?: string;
  project?: string;
}

export interface VaultAgentsOptions extends OpenAIOptions {
  /**
   * Trace export. Default `{}`: through the vault, to OpenAI (`VaultTracingExporter`), replacing
   * every trace processor set so far. `false`: tracing disabled, with a process warning.
   */
  tracing?: VaultTracingOptions | false;
}

/**
 * Make the Agents SDK use the vault: our `OpenAI` client as its default client, and trace export
 * through the vault (or none). Returns the client. Call it once at start-up, before running agents.
 */
export function useVaultForAgents(options: VaultAgentsOptions): OpenAI {
  const { tracing = {}, ...clientOptions } = options;
  const client = new OpenAI(clientOptions);
  setDefaultOpenAIClient(client as never);
  if (tracing === false) {
    setTracingDisabled(true);
    warn('agent-vault turned tracing off for the OpenAI Agents SDK (tracing: false): no traces are exported.');
  } else {
    const exporter = new VaultTracingExporter({ vault: options.vault, transport: options.transport, ...tracing, secret: tracing.secret ?? options.secret });
    setTraceProcessors([new BatchTraceProcessor(exporter)]);
  }
  return client;
}

type ProviderOptions = NonNullable<ConstructorParameters<typeof OpenAIProviderBase>[0]>;

/** `OpenAIProvider`'s options without `apiKey` and `openAIClient`, plus our client's options. */
export type VaultOpenAIProviderOptions = Omit<ProviderOptions, 'apiKey' | 'openAIClient' | 'baseURL' | 'organization' | 'project'> &
  OpenAIOptions;

/**
 * `new OpenAIProvider({ vault, secret, ...options })`: the SDK's model provider over our `OpenAI`
 * client, for a `Runner` of its own: `new Runner({ modelProvider })`. Tracing is not touched.
 */
export class OpenAIProvider extends OpenAIProviderBase {
  constructor(options: VaultOpenAIProviderOptions) {
    const { useResponses, useResponsesWebSocket, websocketBaseURL, cacheResponsesWebSocketModels, ...clientOptions } =
      (options ?? {}) as ProviderOptions & OpenAIOptions;
    if (useResponsesWebSocket) {
      throw new UsageError(
        'The Responses WebSocket transport sends the API key in its handshake, outside the vault fetch, so ' +
          'agent-vault does not support it: leave useResponsesWebSocket out (requests go over HTTP).',
      );
    }
    super({ useResponses, useResponsesWebSocket, websocketBaseURL, cacheResponsesWebSocketModels, openAIClient: new OpenAI(clientOptions) as never });
  }
}

/**
 * A trace exporter that posts the SDK's traces and spans (their `toJSON()`, as `{ data: [...] }`)
 * to the ingest endpoint through a vault fetch: the key is resolved per export, only the
 * endpoint's origin receives it. One attempt per batch; a failure is a process warning, never an
 * error in the agent. Spans that carry a tracing key of their own (`RunConfig.tracing.apiKey`)
 * are not exported: that key did not come from the vault.
 */
export class VaultTracingExporter implements TracingExporter {
  readonly #endpoint: string;
  readonly #fetch: VaultFetch;
  readonly #headers: Record<string, string>;

  constructor(options: VaultBinding & VaultTracingOptions) {
    this.#endpoint = options.endpoint ?? OPENAI_TRACES_ENDPOINT;
    this.#fetch = createVaultFetch(options.vault, { secret: options.secret, origin: this.#endpoint, transport: options.transport });
    this.#headers = {
      'content-type': 'application/json',
      authorization: `Bearer ${this.#fetch.placeholder}`,
      'openai-beta': 'traces=v1',
      ...(options.organization ? { 'openai-organization': options.organization } : {}),
      ...(options.project ? { 'openai-project': options.project } : {}),
    };
  }

  async export(items: (Trace | Span<never>)[], signal?: AbortSignal): Promise<void> {
    const own = items.filter((item) => !item.tracingApiKey);
    if (own.length < items.length) {
      warn('agent-vault does not export spans that carry their own tracing apiKey (it did not come from the vault).');
    }
    const data = own.map((item) => item.toJSON()).filter((item) => item !== null);
    if (data.length === 0) return;
    try {
      const response = await this.#fetch(this.#endpoint, { method: 'POST', headers: this.#headers, body: JSON.stringify({ data }), signal });
      await response.body?.cancel();
      if (!response.ok) warn(`agent-vault trace export: the endpoint answered HTTP ${response.status}; ${data.length} items dropped.`);
    } catch (error) {
      const reason = isVaultError(error) ? `${error.code}: ${error.message}` : String((error as Error)?.message ?? error);
      warn(`agent-vault trace export failed (${reason}); ${data.length} items dropped.`);
    }
  }
}

function warn(message: string): void {
  (globalThis as { process?: { emitWarning?: (m: string, o: object) => void } }).process?.emitWarning?.(message, { code: 'AGENT_VAULT_TRACING' });
}
