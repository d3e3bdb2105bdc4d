/**
 * `agent-vault/openai`: the OpenAI clients with the key resolved from the vault per request.
 *
 *   import { OpenAI } from 'agent-vault/openai';
 *   const client = new OpenAI({ vault, secret: 'openai-api-key' });   // was: new OpenAI()
 *
 * `OpenAI` and `AzureOpenAI` are subclasses of the `openai` package's classes (`instanceof`
 * holds, every method is the SDK's). The client holds a placeholder, never the key. `openai` is
 * an optional peer dependency; only this subpath loads it.
 */
import OpenAIBase, { AzureOpenAI as AzureOpenAIBase } from 'openai';
import type { APIError, AzureClientOptions, ClientOptions } from 'openai';
import { installVaultFetch, prepareClient, readEnv, type VaultBinding, vaultOptions, type WithVaultBinding } from './_client.ts';
import { takeRefusal } from './transport/index.ts';

export type { VaultBinding, WithVaultBinding } from './_client.ts';

/** The SDK's options, without `apiKey` (the vault supplies it), plus `{ vault, secret }`. */
export type OpenAIOptions = Omit<ClientOptions, 'apiKey'> & VaultBinding;

/** The SDK's Azure options, without `apiKey` and `azureADTokenProvider`, plus `{ vault, secret }`. */
export type AzureOpenAIOptions = Omit<AzureClientOptions, 'apiKey' | 'azureADTokenProvider'> & VaultBinding;

/**
 * `new OpenAI({ vault, secret, ...sdkOptions })`: the real OpenAI client. Each HTTP attempt
 * (retries and streams included) resolves the key, sends it as `Authorization: Bearer`, and
 * wipes the decrypted bytes; only `baseURL`'s origin ever receives it. When the vault refuses,
 * the call rejects with that `VaultError` (not retried, nothing sent).
 */
export class OpenAI extends OpenAIBase {
  constructor(options: OpenAIOptions) {
    const prepared = prepareClient(options as ClientOptions & VaultBinding, 'OpenAI');
    super({ ...prepared.sdkOptions, apiKey: prepared.placeholder } as ClientOptions);
    installVaultFetch(this, prepared);
  }

  /**
   * A refusal's synthetic 403 becomes the VaultError itself. (Parameters are `unknown` so the
   * override fits every major version's signature.)
   */
  protected override makeStatusError(status: unknown, error: unknown, message: unknown, headers: unknown): APIError {
    return (takeRefusal(headers) ?? super.makeStatusError(status as number, error as object, message as string, headers as Headers)) as APIError;
  }
}

/** `new AzureOpenAI({ vault, secret, endpoint, apiVersion, ... })`: the key goes out as `api-key`. */
export class AzureOpenAI extends AzureOpenAIBase {
  constructor(options: AzureOpenAIOptions) {
    const prepared = prepareClient(options as AzureClientOptions & VaultBinding, 'AzureOpenAI');
    super({ ...prepared.sdkOptions, apiKey: prepared.placeholder } as AzureClientOptions);
    installVaultFetch(this, prepared);
  }

  protected override makeStatusError(status: unknown, error: unknown, message: unknown, headers: unknown): APIError {
    return (takeRefusal(headers) ?? super.makeStatusError(status as number, error as object, message as string, headers as Headers)) as APIError;
  }
}

/**
 * Options for an OpenAI client you construct yourself: a placeholder `apiKey` and a vault fetch
 * (wrapping `options.fetch`, else `globalThis.fetch`).
 *
 *   const client = new OpenAIBase(withVault({ baseURL }, { vault, secret: 'openai-api-key' }));
 *
 * The key goes only to `origin` (default: `baseURL`, else `OPENAI_BASE_URL`, else
 * api.openai.com). Without our subclass, a vault refusal reaches you as the SDK's
 * `PermissionDeniedError` (status 403, not retried) whose `error` is
 * `{ type: 'agent_vault_refusal', code, message }`; use `OpenAI` above to get the VaultError.
 */
export function withVault<O extends ClientOptions & { endpoint?: string | undefined }>(
  options: O,
  binding: WithVaultBinding,
): Omit<O, 'apiKey' | 'fetch'> & { apiKey: string; fetch: NonNullable<ClientOptions['fetch']> } {
  return vaultOptions(options ?? ({} as O), binding, 'OpenAI', () =>
    options?.endpoint ?? readEnv('OPENAI_BASE_URL') ?? 'https://api.openai.com/v1');
}
