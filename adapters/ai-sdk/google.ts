/**
 * `agent-vault/ai-sdk/google`: the Vercel AI SDK's Google Generative AI (Gemini) provider with
 * the key resolved from the vault per request.
 *
 *   import { createGoogleGenerativeAI } from 'agent-vault/ai-sdk/google';
 *   const google = createGoogleGenerativeAI({ vault, secret: 'gemini-api-key' });
 *   await generateText({ model: google('gemini-2.5-flash'), prompt });
 *
 * The provider holds a placeholder, never the key; each HTTP attempt resolves the key and sends
 * it as `x-goog-api-key`, only to `baseURL`'s origin. A vault refusal rejects with the
 * VaultError, unretried and nothing sent.
 *
 * Not covered: the parts of the provider that put the key in a URL (realtime and live
 * transcription WebSockets, `?key=` on generated video URLs) receive the placeholder, which
 * Google rejects; the key itself never goes into a URL. `@ai-sdk/google` is an optional peer
 * dependency; only this subpath loads it.
 */
import {
  createGoogleGenerativeAI as createGoogleBase, type GoogleGenerativeAIProvider, type GoogleGenerativeAIProviderSettings,
} from '@ai-sdk/google';
import { envBaseURL, type SettingsWithVault, splitBinding, type VaultProviderSettings, withVaultSettings, type WithVaultBinding } from './_settings.ts';

export type { SettingsWithVault, VaultBinding, VaultProviderSettings, WithVaultBinding } from './_settings.ts';

/** `createGoogleGenerativeAI`'s settings without `apiKey`, plus `{ vault, secret }`. */
export type VaultGoogleProviderSettings = VaultProviderSettings<GoogleGenerativeAIProviderSettings>;

// The provider reads no base-URL variable.
const defaultBaseURL = envBaseURL(undefined, 'https://generativelanguage.googleapis.com/v1beta');

/** `createGoogleGenerativeAI({ vault, secret, ...settings })`: the real provider, every other setting unchanged. */
export function createGoogleGenerativeAI(options: VaultGoogleProviderSettings): GoogleGenerativeAIProvider {
  return createGoogleBase(withVault(...splitBinding<GoogleGenerativeAIProviderSettings>(options)));
}

/** The same factory under the name `@ai-sdk/google` 4 gives it. */
export const createGoogle = createGoogleGenerativeAI;

/**
 * Settings for the `@ai-sdk/google` factory you call yourself:
 * `createGoogleGenerativeAI(withVault({}, { vault, secret: 'gemini-api-key' }))`. The key goes
 * only to `binding.origin` (default: `baseURL`, else generativelanguage.googleapis.com).
 */
export function withVault(
  settings: GoogleGenerativeAIProviderSettings,
  binding: WithVaultBinding,
): SettingsWithVault<GoogleGenerativeAIProviderSettings> {
  return withVaultSettings(settings, binding, 'createGoogleGenerativeAI', defaultBaseURL);
}
