/**
 * `agent-vault/langchain/openai`: LangChain's OpenAI chat model and embeddings with the key
 * resolved from the vault per request.
 *
 *   import { ChatOpenAI } from 'agent-vault/langchain/openai';
 *   const model = new ChatOpenAI({ vault, secret: 'openai-api-key', model: 'gpt-5' });
 *
 * Subclasses of `@langchain/openai`'s classes: every other field is theirs. The model holds a
 * placeholder, never the key; each HTTP attempt (LangChain's retries and streams included)
 * resolves the key and sends it as `Authorization: Bearer`, only to the base URL's origin. A
 * vault refusal rejects with the VaultError, not retried, nothing sent. `@langchain/openai` is
 * an optional peer dependency; only this subpath loads it.
 */
import {
  ChatOpenAI as ChatOpenAIBase, type ChatOpenAIFields, type ClientOptions, OpenAIEmbeddings as OpenAIEmbeddingsBase,
} from '@langchain/openai';
import type { AsyncCaller } from '@langchain/core/utils/async_caller';
import { readEnv, type VaultBinding, vaultOptions } from '../_client.ts';
import { refuseKeyOption, surfaceRefusals } from './_refusals.ts';

export type { VaultBinding } from '../_client.ts';

/** `ChatOpenAI`'s fields without `apiKey` / `openAIApiKey`, plus `{ vault, secret }`. */
export type VaultChatOpenAIFields = Omit<ChatOpenAIFields, 'apiKey' | 'openAIApiKey'> & VaultBinding;

type EmbeddingsFields = NonNullable<ConstructorParameters<typeof OpenAIEmbeddingsBase>[0]>;
/** `OpenAIEmbeddings`' fields without `apiKey` / `openAIApiKey`, plus `{ vault, secret }`. */
export type VaultOpenAIEmbeddingsFields = Omit<EmbeddingsFields, 'apiKey' | 'openAIApiKey'> & VaultBinding;

const KEY_OPTIONS = ['apiKey', 'openAIApiKey'];

/** `new ChatOpenAI({ vault, secret, model, ...fields })`: the real LangChain chat model. */
export class ChatOpenAI extends ChatOpenAIBase {
  constructor(fields: VaultChatOpenAIFields) {
    super(withVault(fields, 'ChatOpenAI'));
    // ChatOpenAI sends through one of two delegates (Chat Completions or Responses), each with its own caller.
    const { completions, responses } = this as unknown as Record<'completions' | 'responses', { caller: AsyncCaller }>;
    for (const model of [this, completions, responses]) surfaceRefusals(model.caller);
  }
}

/** `new OpenAIEmbeddings({ vault, secret, model, ...fields })`: the real LangChain embeddings. */
export class OpenAIEmbeddings extends OpenAIEmbeddingsBase {
  constructor(fields: VaultOpenAIEmbeddingsFields) {
    super(withVault(fields, 'OpenAIEmbeddings'));
    surfaceRefusals(this.caller);
  }
}

/** The fields with a placeholder key and the vault fetch in `configuration`. */
function withVault<F extends { configuration?: ClientOptions }>(fields: F & VaultBinding, className: string): F & { apiKey: string } {
  const { vault, secret, transport, configuration, ...rest } = fields ?? ({} as F & VaultBinding);
  refuseKeyOption(rest, KEY_OPTIONS, className);
  refuseKeyOption(configuration ?? {}, ['apiKey'], className);
  const client = vaultOptions(configuration ?? {}, { vault, secret, transport }, className, () =>
    readEnv('OPENAI_BASE_URL') ?? 'https://api.openai.com/v1');
  return { ...rest, apiKey: client.apiKey, configuration: client } as never;
}
