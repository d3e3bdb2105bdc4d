/**
 * `agent-vault/mistral`: the Mistral client (`@mistralai/mistralai`) with the key resolved from
 * the vault per request.
 *
 *   import { Mistral } from 'agent-vault/mistral';
 *   const client = new Mistral({ vault, secret: 'mistral-api-key' });   // was: new Mistral({ apiKey })
 *
 * `Mistral` is a subclass of the SDK's class. It holds a placeholder, never the key; each HTTP
 * attempt (the SDK's retries and streams included) resolves the key and sends it as
 * `Authorization: Bearer`, only to the server URL's origin. A vault refusal rejects with the
 * VaultError itself, not retried, nothing sent. `@mistralai/mistralai` is an optional peer
 * dependency; only this subpath loads it.
 */
import { Mistral as MistralBase } from '@mistralai/mistralai';
import { type SDKOptions, serverURLFromOptions } from '@mistralai/mistralai/lib/config.js';
import { HTTPClient } from '@mistralai/mistralai/lib/http.js';
import { ClientSDK } from '@mistralai/mistralai/lib/sdks.js';
import { isVaultError } from '../src/errors.ts';
import { type VaultBinding, vaultOptions, type WithVaultBinding } from './_client.ts';
import type { FetchLike } from './transport/index.ts';

export type { VaultBinding, WithVaultBinding } from './_client.ts';

/** The SDK's options without `apiKey`, plus `{ vault, secret }`. */
export type MistralOptions = Omit<SDKOptions, 'apiKey'> & VaultBinding;

/**
 * `new Mistral({ vault, secret, ...sdkOptions })`: the real client. `httpClient`, if given, is
 * cloned (its hooks kept) and its fetcher wrapped.
 */
export class Mistral extends MistralBase {
  constructor(options: MistralOptions) {
    const { vault, secret, transport, ...sdkOptions } = (options ?? {}) as MistralOptions & Pick<SDKOptions, 'apiKey'>;
    super(withVault(sdkOptions, { vault, secret, transport }));
    // The SDK wraps whatever its fetcher throws in an UnexpectedClientError; callers get the
    // VaultError itself instead, from every resource method.
    return surfacingRefusals(this);
  }
}

/**
 * Options for a Mistral client you construct yourself:
 * `new MistralBase(withVault({}, { vault, secret: 'mistral-api-key' }))`. The key goes only to
 * `binding.origin` (default: `serverURL`, else the `server`'s URL, else api.mistral.ai). Without
 * our subclass a refusal reaches you as the SDK's `UnexpectedClientError`, the VaultError as its
 * `cause` (not retried).
 */
export function withVault<O extends SDKOptions>(options: O, binding: WithVaultBinding): O & { apiKey: string; httpClient: HTTPClient } {
  const { httpClient: given, ...rest } = options ?? ({} as O);
  const httpClient = given ? given.clone() : new HTTPClient();
  // `fetcher` is private in the SDK's types, public at run time (and the documented hook).
  const transport = httpClient as unknown as { fetcher: FetchLike };
  const prepared = vaultOptions(
    { apiKey: rest.apiKey, fetch: given ? transport.fetcher : undefined },
    { ...binding, origin: binding.origin ?? serverURLFromOptions(rest) ?? undefined },
    'Mistral',
    () => 'https://api.mistral.ai',
    'reject',
  );
  // Speakeasy's fetcher is called with a Request; the vault fetch reads it (body included).
  transport.fetcher = prepared.fetch;
  return { ...rest, apiKey: prepared.apiKey, httpClient } as never;
}

/** Everything reachable from the client, with rejections caused by a refusal rethrown as the refusal. */
function surfacingRefusals<T extends object>(target: T, seen = new WeakMap<object, object>()): T {
  const cached = seen.get(target);
  if (cached) return cached as T;
  // One wrapper per method, so that `client.chat.complete` is the same function each time.
  const wrappers = new Map<PropertyKey, { method: unknown; wrapper: unknown }>();
  const proxy = new Proxy(target, {
    get(object, property) {
      // The raw object as `this`: the SDK's getters and methods use private fields.
      const value = Reflect.get(object, property) as unknown;
      if (typeof value === 'function' && property !== 'constructor') {
        const known = wrappers.get(property);
        if (known?.method === value) return known.wrapper;
        const wrapper = (...args: unknown[]) => {
          const result = (value as (...a: unknown[]) => unknown).apply(object, args);
          return result instanceof Promise ? result.catch(rethrowRefusal) : result;
        };
        wrappers.set(property, { method: value, wrapper });
        return wrapper;
      }
      // Resources (`client.chat`, `client.beta.conversations`) are SDK objects made lazily.
      if (value !== null && typeof value === 'object' && value instanceof ClientSDK) {
        return surfacingRefusals(value, seen);
      }
      return value;
    },
  });
  seen.set(target, proxy);
  return proxy;
}

function rethrowRefusal(error: unknown): never {
  const cause = (error as { cause?: unknown } | null)?.cause;
  throw (error as Error | null)?.name === 'UnexpectedClientError' && isVaultError(cause) ? cause : error;
}
