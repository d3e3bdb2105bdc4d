/**
 * `agent-vault/groq`: the Groq client with the key resolved from the vault per request.
 *
 *   import { Groq } from 'agent-vault/groq';
 *   const client = new Groq({ vault, secret: 'groq-api-key' });   // was: new Groq()
 *
 * `Groq` is a subclass of the `groq-sdk` class (`instanceof` holds, every method is the SDK's).
 * The client holds a placeholder, never the key; each HTTP attempt (retries and streams
 * included) resolves the key and sends it as `Authorization: Bearer`, only to `baseURL`'s origin.
 * `groq-sdk` is an optional peer dependency; only this subpath loads it.
 */
import GroqBase from 'groq-sdk';
import type { APIError, ClientOptions } from 'groq-sdk';
import { installVaultFetch, prepareClient, readEnv, type VaultBinding, vaultOptions, type WithVaultBinding } from './_client.ts';
import { takeRefusal } from './transport/index.ts';

export type { VaultBinding, WithVaultBinding } from './_client.ts';

/** The SDK's options, without `apiKey` (the vault supplies it), plus `{ vault, secret }`. */
export type GroqOptions = Omit<ClientOptions, 'apiKey'> & VaultBinding;

/**
 * `new Groq({ vault, secret, ...sdkOptions })`: the real Groq client. When the vault refuses, the
 * call rejects with that `VaultError` (not retried, nothing sent).
 */
export class Groq extends GroqBase {
  constructor(options: GroqOptions) {
    const prepared = prepareClient(options as ClientOptions & VaultBinding, 'Groq');
    super({ ...prepared.sdkOptions, apiKey: prepared.placeholder } as ClientOptions);
    installVaultFetch(this, prepared);
  }

  /** A refusal's synthetic 403 (which the SDK does not retry) becomes the VaultError itself. */
  protected override makeStatusError(status: number, error: object, message: string | undefined, headers: Headers): APIError {
    return (takeRefusal(headers) ?? super.makeStatusError(status, error, message, headers)) as APIError;
  }
}

/**
 * Options for a Groq client you construct yourself:
 * `new GroqBase(withVault({}, { vault, secret: 'groq-api-key' }))`. The key goes only to `origin`
 * (default: `baseURL`, else `GROQ_BASE_URL`, else api.groq.com). A refusal reaches you as the
 * SDK's `PermissionDeniedError` (403, not retried); use `Groq` above to get the VaultError.
 */
export function withVault<O extends ClientOptions>(
  options: O,
  binding: WithVaultBinding,
): Omit<O, 'apiKey' | 'fetch'> & { apiKey: string; fetch: NonNullable<ClientOptions['fetch']> } {
  return vaultOptions(options ?? ({} as O), binding, 'Groq', () => readEnv('GROQ_BASE_URL') ?? 'https://api.groq.com');
}
