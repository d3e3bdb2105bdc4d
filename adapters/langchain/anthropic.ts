/**
 * `agent-vault/langchain/anthropic`: LangChain's Anthropic chat model with the key resolved from
 * the vault per request.
 *
 *   import { ChatAnthropic } from 'agent-vault/langchain/anthropic';
 *   const model = new ChatAnthropic({ vault, secret: 'anthropic-api-key', model: 'claude-sonnet-4-5' });
 *
 * A subclass of `@langchain/anthropic`'s `ChatAnthropic`: every other field is its own. The
 * model holds a placeholder, never the key; each HTTP attempt resolves the key and sends it the
 * way the Anthropic SDK it bundles does (`x-api-key`), only to the API URL's origin. A vault
 * refusal rejects with the VaultError, not retried, nothing sent. `@langchain/anthropic` is an
 * optional peer dependency; only this subpath loads it.
 */
import { ChatAnthropic as ChatAnthropicBase, type ChatAnthropicInput } from '@langchain/anthropic';
import { readEnv, type VaultBinding, vaultOptions } from '../_client.ts';
import { refuseKeyOption, surfaceRefusals } from './_refusals.ts';

export type { VaultBinding } from '../_client.ts';

/** `ChatAnthropic`'s fields without `apiKey` / `anthropicApiKey`, plus `{ vault, secret }`. */
export type VaultChatAnthropicFields = Omit<ChatAnthropicInput, 'apiKey' | 'anthropicApiKey'> & VaultBinding;

/** `new ChatAnthropic({ vault, secret, model, ...fields })`: the real LangChain chat model. */
export class ChatAnthropic extends ChatAnthropicBase {
  constructor(fields: VaultChatAnthropicFields) {
    const { vault, secret, transport, clientOptions, anthropicApiUrl, ...rest } = fields ?? ({} as VaultChatAnthropicFields);
    refuseKeyOption(rest, ['apiKey', 'anthropicApiKey'], 'ChatAnthropic');
    refuseKeyOption(clientOptions ?? {}, ['apiKey', 'authToken'], 'ChatAnthropic');
    // LangChain's precedence for where requests go: anthropicApiUrl, clientOptions.baseURL, the environment.
    const origin = anthropicApiUrl ?? clientOptions?.baseURL ?? readEnv('ANTHROPIC_API_URL') ?? readEnv('ANTHROPIC_BASE_URL') ??
      'https://api.anthropic.com';
    const client = vaultOptions(clientOptions ?? {}, { vault, secret, transport, origin }, 'ChatAnthropic', () => origin);
    super({
      ...rest,
      anthropicApiUrl,
      apiKey: client.apiKey,
      // Explicitly none, so ANTHROPIC_AUTH_TOKEN in the environment is not sent beside the key.
      clientOptions: { ...client, authToken: null },
    });
    surfaceRefusals(this.caller);
  }
}
