/**
 * `agent-vault/ai-sdk/anthropic`: the Vercel AI SDK's Anthropic provider with the key resolved
 * from the vault per request.
 *
 *   import { createAnthropic } from 'agent-vault/ai-sdk/anthropic';
 *   const anthropic = createAnthropic({ vault, secret: 'anthropic-api-key' });
 *   await generateText({ model: anthropic('claude-sonnet-4-5'), prompt });
 *
 * The provider holds a placeholder, never the key; each HTTP attempt resolves the key and sends
 * it as `x-api-key`, only to `baseURL`'s origin. A vault refusal rejects with the VaultError,
 * unretried and nothing sent. `@ai-sdk/anthropic` is an optional peer dependency; only this
 * subpath loads it.
 */
import { type AnthropicProvider, type AnthropicProviderSettings, createAnthropic as createAnthropicBase } from '@ai-sdk/anthropic';
import { UsageError } from '../../src/errors.ts';
import { envBaseURL, type SettingsWithVault, splitBinding, type VaultProviderSettings, withVaultSettings, type WithVaultBinding } from './_settings.ts';

export type { SettingsWithVault, VaultBinding, VaultProviderSettings, WithVaultBinding } from './_settings.ts';

/** `createAnthropic`'s settings without `apiKey` and `authToken`, plus `{ vault, secret }`. */
export type VaultAnthropicProviderSettings = VaultProviderSettings<Omit<AnthropicProviderSettings, 'authToken'>>;

const defaultBaseURL = envBaseURL('ANTHROPIC_BASE_URL', 'https://api.anthropic.com/v1');

/** `createAnthropic({ vault, secret, ...settings })`: the real provider, every other setting unchanged. */
export function createAnthropic(options: VaultAnthropicProviderSettings): AnthropicProvider {
  return createAnthropicBase(withVault(...splitBinding<AnthropicProviderSettings>(options)));
}

/**
 * Settings for the `@ai-sdk/anthropic` factory you call yourself:
 * `createAnthropic(withVault({}, { vault, secret: 'anthropic-api-key' }))`. The key goes only to
 * `binding.origin` (default: `baseURL`, else `ANTHROPIC_BASE_URL`, else api.anthropic.com).
 */
export function withVault(settings: AnthropicProviderSettings, binding: WithVaultBinding): SettingsWithVault<AnthropicProviderSettings> {
  if (settings?.authToken != null) {
    throw new UsageError('Pass no authToken to createAnthropic with a vault: the vault supplies the API key.');
  }
  return withVaultSettings(settings, binding, 'createAnthropic', defaultBaseURL);
}
