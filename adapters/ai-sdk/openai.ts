/**
 * `agent-vault/ai-sdk/openai`: the Vercel AI SDK's OpenAI provider with the key resolved from the
 * vault per request.
 *
 *   import { createOpenAI } from 'agent-vault/ai-sdk/openai';
 *   const openai = createOpenAI({ vault, secret: 'openai-api-key' });   // was: createOpenAI()
 *   await generateText({ model: openai('gpt-5'), prompt });
 *
 * The provider holds a placeholder, never the key; each HTTP attempt (the AI SDK's retries and
 * streams included) resolves the key, sends it as `Authorization: Bearer`, and only `baseURL`'s
 * origin receives it. A vault refusal rejects with the VaultError, unretried and nothing sent.
 * `@ai-sdk/openai` is an optional peer dependency; only this subpath loads it.
 */
import { createOpenAI as createOpenAIBase, type OpenAIProvider, type OpenAIProviderSettings } from '@ai-sdk/openai';
import { envBaseURL, type SettingsWithVault, splitBinding, type VaultProviderSettings, withVaultSettings, type WithVaultBinding } from './_settings.ts';

export type { SettingsWithVault, VaultBinding, VaultProviderSettings, WithVaultBinding } from './_settings.ts';

/** `createOpenAI`'s settings without `apiKey`, plus `{ vault, secret }`. */
export type VaultOpenAIProviderSettings = VaultProviderSettings<OpenAIProviderSettings>;

const defaultBaseURL = envBaseURL('OPENAI_BASE_URL', 'https://api.openai.com/v1');

/** `createOpenAI({ vault, secret, ...settings })`: the real provider, every other setting unchanged. */
export function createOpenAI(options: VaultOpenAIProviderSettings): OpenAIProvider {
  return createOpenAIBase(withVault(...splitBinding<OpenAIProviderSettings>(options)));
}

/**
 * Settings for the `@ai-sdk/openai` factory you call yourself:
 * `createOpenAI(withVault({ baseURL }, { vault, secret: 'openai-api-key' }))`. The key goes only
 * to `binding.origin` (default: `baseURL`, else `OPENAI_BASE_URL`, else api.openai.com).
 */
export function withVault(settings: OpenAIProviderSettings, binding: WithVaultBinding): SettingsWithVault<OpenAIProviderSettings> {
  return withVaultSettings(settings, binding, 'createOpenAI', defaultBaseURL);
}
