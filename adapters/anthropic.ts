/**
 * `agent-vault/anthropic`: the Anthropic client with the key resolved from the vault per request.
 *
 *   import { Anthropic } from 'agent-vault/anthropic';
 *   const client = new Anthropic({ vault, secret: 'anthropic-api-key' });   // was: new Anthropic()
 *
 * `Anthropic` is a subclass of the `@anthropic-ai/sdk` class (`instanceof` holds). The client
 * holds a placeholder, never the key. `@anthropic-ai/sdk` is an optional peer dependency; only
 * this subpath loads it.
 */
import AnthropicBase from '@anthropic-ai/sdk';
import type { ClientOptions, Middleware } from '@anthropic-ai/sdk';
import { installVaultFetch, prepareClient, readEnv, type VaultBinding, vaultOptions, type WithVaultBinding } from './_client.ts';
import { UsageError } from '../src/errors.ts';
import { takeRefusal } from './transport/index.ts';

export type { VaultBinding, WithVaultBinding } from './_client.ts';

/** The SDK's options, without `apiKey` and `authToken` (the vault supplies the key), plus `{ vault, secret }`. */
export type AnthropicOptions = Omit<ClientOptions, 'apiKey' | 'authToken'> & VaultBinding;

/**
 * Turns a vault refusal (the synthetic 403 our fetch answers with) into the VaultError itself.
 * The SDK passes an error thrown by middleware to the caller as-is, without retrying it.
 */
const surfaceVaultRefusals: Middleware = async (request, next) => {
  const response = await next(request);
  const refusal = takeRefusal(response.headers);
  if (refusal) throw refusal;
  return response;
};

function withRefusalMiddleware(middleware: ClientOptions['middleware']): Middleware[] {
  return [...(middleware ?? []).filter((m) => m !== surfaceVaultRefusals), surfaceVaultRefusals];
}

/**
 * `new Anthropic({ vault, secret, ...sdkOptions })`: the real Anthropic client. Each HTTP attempt
 * (retries and streams included) resolves the key, sends it the way the installed SDK sends an
 * API key (`x-api-key` in 0.x, `Authorization: Bearer` in 1.x), and wipes the decrypted bytes;
 * only `baseURL`'s origin ever receives it. When the vault refuses, the call rejects with that
 * `VaultError` (not retried, nothing sent).
 */
export class Anthropic extends AnthropicBase {
  constructor(options: AnthropicOptions) {
    const prepared = prepareClient(options as ClientOptions & VaultBinding, 'Anthropic');
    if (prepared.sdkOptions.authToken != null) {
      throw new UsageError('Pass no authToken to the agent-vault Anthropic client: the vault supplies the API key.');
    }
    super({
      ...prepared.sdkOptions,
      apiKey: prepared.placeholder,
      // Explicitly none, so ANTHROPIC_AUTH_TOKEN in the environment is not sent beside the key.
      authToken: null,
      middleware: withRefusalMiddleware(prepared.sdkOptions.middleware),
    } as ClientOptions);
    installVaultFetch(this, prepared);
  }
}

/**
 * Options for an Anthropic client you construct yourself: a placeholder `apiKey`, a vault fetch
 * (wrapping `options.fetch`, else `globalThis.fetch`) and a middleware that turns a refusal into
 * the VaultError.
 *
 *   const client = new AnthropicBase(withVault({}, { vault, secret: 'anthropic-api-key' }));
 *
 * The key goes only to `origin` (default: `baseURL`, else `ANTHROPIC_BASE_URL`, else
 * api.anthropic.com).
 */
export function withVault<O extends ClientOptions>(
  options: O,
  binding: WithVaultBinding,
): Omit<O, 'apiKey' | 'fetch'> & { apiKey: string; fetch: NonNullable<ClientOptions['fetch']>; authToken: null; middleware: Middleware[] } {
  const prepared = vaultOptions(options ?? ({} as O), binding, 'Anthropic', () =>
    readEnv('ANTHROPIC_BASE_URL') ?? 'https://api.anthropic.com');
  return { ...prepared, authToken: null, middleware: withRefusalMiddleware(options?.middleware) };
}
