/**
 * `agent-vault/google`: the Google Gen AI client (`@google/genai`, the Gemini Developer API) with
 * the key resolved from the vault per request.
 *
 *   import { GoogleGenAI } from 'agent-vault/google';
 *   const ai = new GoogleGenAI({ vault, secret: 'gemini-api-key' });   // was: new GoogleGenAI({ apiKey })
 *
 * `GoogleGenAI` is a subclass of the SDK's class. It holds a placeholder, never the key; each
 * HTTP attempt (the SDK's retries and streams included) resolves the key and sends it as
 * `x-goog-api-key`, only to `httpOptions.baseUrl`'s origin. A vault refusal rejects with the
 * VaultError itself, not retried, nothing sent.
 *
 * Not supported, and refused with a UsageError rather than leaked: the Live API (`ai.live`),
 * which puts the key in a WebSocket URL (`?key=`), and Vertex AI / Enterprise mode, which
 * authenticates with Google credentials rather than an API key. `@google/genai` is an optional
 * peer dependency; only this subpath loads it.
 */
import { GoogleGenAI as GoogleGenAIBase, type GoogleGenAIOptions as SdkOptions } from '@google/genai';
import { UsageError } from '../src/errors.ts';
import { readEnv, type VaultBinding, vaultOptions, type WithVaultBinding } from './_client.ts';
import { type FetchLike, takeRefusal } from './transport/index.ts';

export type { VaultBinding, WithVaultBinding } from './_client.ts';

/** The SDK's options without `apiKey`, `vertexai` and `enterprise`, plus `{ vault, secret }`. */
export type GoogleGenAIOptions = Omit<SdkOptions, 'apiKey' | 'vertexai' | 'enterprise'> & VaultBinding;

const DEFAULT_BASE_URL = 'https://generativelanguage.googleapis.com';

/**
 * `new GoogleGenAI({ vault, secret, ...sdkOptions })`: the real client in Gemini Developer API
 * mode (`vertexai: false` explicitly, so `GOOGLE_GENAI_USE_VERTEXAI` in the environment does not
 * switch it to Google credentials).
 */
export class GoogleGenAI extends GoogleGenAIBase {
  constructor(options: GoogleGenAIOptions) {
    const { vault, secret, transport, ...sdkOptions } = (options ?? {}) as GoogleGenAIOptions & Pick<SdkOptions, 'apiKey'>;
    super(withVault(sdkOptions, { vault, secret, transport }));
    surfaceRefusals(this.apiClient);
    const refuse = () => Promise.reject(new UsageError(
      'The Gemini Live API puts the API key in a WebSocket URL, so agent-vault does not support it: ' +
        'use generateContent / generateContentStream.',
    ));
    Object.assign(this.live, { connect: refuse });
    Object.assign(this.live.music, { connect: refuse });
  }
}

/**
 * Options for a `@google/genai` client you construct yourself:
 * `new GoogleGenAI(withVault({}, { vault, secret: 'gemini-api-key' }))`. The key goes only to
 * `binding.origin` (default: `httpOptions.baseUrl`, else `GOOGLE_GEMINI_BASE_URL`, else
 * generativelanguage.googleapis.com). Without our subclass a refusal reaches you as the SDK's
 * `ApiError` (status 403, not retried), and `ai.live` sends the placeholder, which Google rejects.
 */
export function withVault<O extends SdkOptions>(options: O, binding: WithVaultBinding): O & { apiKey: string; vertexai: false } {
  const { httpOptions, vertexai, enterprise, ...rest } = options ?? ({} as O);
  if (vertexai || enterprise) {
    throw new UsageError(
      'agent-vault/google supports the Gemini Developer API (an API key), not Vertex AI or Enterprise mode, ' +
        'which authenticate with Google credentials. Leave out vertexai / enterprise.',
    );
  }
  const prepared = vaultOptions(
    { ...rest, baseURL: httpOptions?.baseUrl, fetch: httpOptions?.fetch as FetchLike | undefined },
    binding,
    'GoogleGenAI',
    () => readEnv('GOOGLE_GEMINI_BASE_URL') ?? DEFAULT_BASE_URL,
  );
  const { baseURL: _baseURL, fetch, ...sdkOptions } = prepared;
  return { ...sdkOptions, vertexai: false, enterprise: false, httpOptions: { ...httpOptions, fetch } } as never;
}

/**
 * A refusal comes back from the vault fetch as a synthetic 403 (which the SDK's retry does not
 * repeat); the SDK would make an `ApiError` of it, so its one transport call is wrapped to throw
 * the VaultError instead.
 */
function surfaceRefusals(apiClient: unknown): void {
  const target = apiClient as { apiCall: (...args: unknown[]) => Promise<Response> };
  const apiCall = target.apiCall.bind(target);
  target.apiCall = async (...args) => {
    const response = await apiCall(...args);
    const refusal = takeRefusal(response.headers);
    if (refusal) throw refusal;
    return response;
  };
}
