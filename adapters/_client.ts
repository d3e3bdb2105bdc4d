/**
 * What the SDK adapters share: split `{ vault, secret }` from the SDK's own options, give the SDK
 * a placeholder key, and swap the client's transport for a vault-aware fetch once the client
 * knows its base URL. Each adapter file is this plus the SDK's class.
 */
import { UsageError } from '../src/errors.ts';
import {
  buildVaultFetch, createPlaceholder, type FetchLike, isPlaceholder, type TransportOption, type VaultFetch, type VaultLike,
} from './transport/index.ts';

export interface VaultBinding {
  /** The vault the key comes from: usually `await openVault()`, opened with the agent's token. */
  vault: VaultLike;
  /** The name of the secret that holds the API key, e.g. `'openai-api-key'`. */
  secret: string;
  /**
   * How the key reaches the wire. Default `'auto'`: on Node, written at the socket over a one-time
   * placeholder, so it never becomes a JS string; elsewhere (or with your own `fetch`, a
   * dispatcher or a proxy) in a copy of the headers, announced once. `'hardened'` refuses instead
   * of falling back; `'standard'` always uses the headers.
   */
  transport?: TransportOption;
}

export interface WithVaultBinding extends VaultBinding {
  /**
   * The only origin that receives the key. Default: the origin of `options.baseURL`, else of
   * the SDK's base-URL environment variable, else of the SDK's default API URL.
   */
  origin?: string | URL;
}

interface Binding {
  vault: VaultLike;
  secret: string;
  /** The fetch the user gave, if any (not the SDK's default). */
  userFetch: FetchLike | undefined;
  transport: TransportOption | undefined;
}

/** Every vault fetch a client was given, so a clone made by `client.withOptions()` can be re-bound. */
const bindings = new WeakMap<object, Binding>();

interface SdkOptions {
  apiKey?: unknown;
  fetch?: unknown;
  baseURL?: string | null | undefined;
}

export interface PreparedClient<O> {
  binding: Binding;
  placeholder: string;
  /** The SDK's options: no vault, secret or apiKey; `fetch` is the user's own, if any. */
  sdkOptions: O;
}

/**
 * Split the options. When an SDK clones a client (`withOptions`), it calls the constructor again
 * with the old client's fetch and placeholder; those are recognised and re-bound.
 */
export function prepareClient<O extends SdkOptions>(
  options: (O & Partial<VaultBinding>) | undefined,
  className: string,
): PreparedClient<Omit<O, 'vault' | 'secret' | 'apiKey' | 'transport'>> {
  const { vault, secret, apiKey, transport, ...sdkOptions } = (options ?? {}) as O & Partial<VaultBinding>;
  const previous = typeof sdkOptions.fetch === 'function' ? bindings.get(sdkOptions.fetch) : undefined;
  if (previous) sdkOptions.fetch = previous.userFetch;
  if (apiKey != null && !(previous && isPlaceholder(apiKey))) {
    throw new UsageError(
      `Pass no apiKey to the agent-vault ${className} client: it resolves the key from the vault for each ` +
        `request. Store the key with \`agent-vault set <name>\` and pass { vault, secret: '<name>' }.`,
    );
  }
  const binding = {
    vault: vault ?? previous?.vault,
    secret: secret ?? previous?.secret,
    userFetch: sdkOptions.fetch as FetchLike | undefined,
    transport: transport ?? previous?.transport,
  };
  if (!binding.vault || typeof binding.vault.use !== 'function' || typeof binding.secret !== 'string' || !binding.secret) {
    throw new UsageError(
      `The agent-vault ${className} client needs { vault, secret }: the Vault from openVault() and the name of ` +
        `the secret holding the API key, e.g. new ${className}({ vault, secret: 'api-key-name' }).`,
    );
  }
  return { binding: binding as Binding, placeholder: createPlaceholder(), sdkOptions };
}

/**
 * Replace the constructed client's transport with a vault fetch bound to its base URL's origin,
 * wrapping the fetch the client chose (the user's, or the SDK's default: node-fetch for openai 4
 * on Node). Refusals come back as responses the SDK does not retry; the adapter turns them into
 * the VaultError.
 */
export function installVaultFetch(client: object, prepared: PreparedClient<unknown>): VaultFetch {
  const target = client as { fetch: FetchLike; baseURL: string };
  const vaultFetch = buildVaultFetch(
    prepared.binding.vault,
    { secret: prepared.binding.secret, origin: target.baseURL, fetch: target.fetch, transport: prepared.binding.transport },
    { placeholder: prepared.placeholder, refusals: 'respond', customFetch: prepared.binding.userFetch !== undefined },
  );
  bindings.set(vaultFetch, prepared.binding);
  target.fetch = vaultFetch;
  return vaultFetch;
}

/**
 * SDK options for a client the caller constructs: a placeholder `apiKey` and a vault fetch bound
 * to `origin` (default: `options.baseURL`, else `defaultBaseURL()`). `refusals`: `'respond'` (a
 * synthetic 403, for SDKs that retry a rejected fetch) or `'reject'` (the fetch rejects with the
 * VaultError, for SDKs that pass such a rejection through unretried, as the Vercel AI SDK does).
 */
export function vaultOptions<O extends SdkOptions>(
  options: O,
  binding: WithVaultBinding,
  className: string,
  defaultBaseURL: () => string,
  refusals: 'reject' | 'respond' = 'respond',
): Omit<O, 'apiKey' | 'fetch'> & { apiKey: string; fetch: VaultFetch } {
  const prepared = prepareClient<O>({ ...options, vault: binding?.vault, secret: binding?.secret, transport: binding?.transport }, className);
  const origin = binding.origin ?? prepared.sdkOptions.baseURL ?? defaultBaseURL();
  const fetch = buildVaultFetch(
    prepared.binding.vault,
    { secret: prepared.binding.secret, origin, fetch: prepared.binding.userFetch, transport: prepared.binding.transport },
    { placeholder: prepared.placeholder, refusals },
  );
  bindings.set(fetch, prepared.binding);
  return { ...prepared.sdkOptions, apiKey: prepared.placeholder, fetch } as never;
}

/** An environment variable, where there is an environment. */
export function readEnv(name: string): string | undefined {
  const value = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.[name];
  return value?.trim() || undefined;
}
