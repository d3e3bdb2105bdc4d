/**
 * What the Vercel AI SDK provider adapters share: provider settings with a placeholder `apiKey`
 * and a vault fetch bound to the provider's base URL. The AI SDK passes an error thrown by
 * `fetch` through unretried when it is not a network error (its retry only repeats
 * `APICallError`s marked retryable), so a refusal rejects with the VaultError itself — except
 * after an attempt that failed (a 500, then a refusal), where the AI SDK wraps it in its
 * `RetryError` (`reason: 'errorNotRetryable'`, the VaultError as `lastError`), unretried.
 */
import { readEnv, type VaultBinding, vaultOptions, type WithVaultBinding } from '../_client.ts';
import type { VaultFetch } from '../transport/index.ts';

export type { VaultBinding, WithVaultBinding } from '../_client.ts';

interface ProviderSettings {
  apiKey?: unknown;
  baseURL?: string | undefined;
  fetch?: unknown;
}

/** A provider's settings as our factory takes them: no `apiKey`, plus `{ vault, secret }`. */
export type VaultProviderSettings<S> = Omit<S, 'apiKey'> & VaultBinding;

/** What the AI SDK factories are given: the user's settings, a placeholder key, the vault fetch. */
export type SettingsWithVault<S> = Omit<S, 'apiKey' | 'fetch'> & { apiKey: string; fetch: VaultFetch };

/**
 * Settings for the real factory. `defaultBaseURL`: where the provider sends requests when
 * `baseURL` is not given (its environment variable, else its API URL); only that origin, or
 * `binding.origin`, receives the key.
 */
export function withVaultSettings<S extends ProviderSettings>(
  settings: S,
  binding: WithVaultBinding,
  factoryName: string,
  defaultBaseURL: () => string,
): SettingsWithVault<S> {
  return vaultOptions(settings ?? ({} as S), binding, factoryName, defaultBaseURL, 'reject') as never;
}

/** Split `{ vault, secret, transport }` from a factory's settings. */
export function splitBinding<S extends ProviderSettings>(options: VaultProviderSettings<S>): [S, WithVaultBinding] {
  const { vault, secret, transport, ...settings } = (options ?? {}) as VaultProviderSettings<S>;
  return [settings as unknown as S, { vault, secret, transport }];
}

/** The base URL an AI SDK provider reads from the environment, else its default. */
export function envBaseURL(variable: string | undefined, fallback: string): () => string {
  return () => (variable ? readEnv(variable) : undefined) ?? fallback;
}
