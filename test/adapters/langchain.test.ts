/** `agent-vault/langchain/*` with the real @langchain/openai and @langchain/anthropic. */
import { ChatOpenAI as ChatOpenAIBase } from '@langchain/openai';
import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { describe, expect, it } from 'vitest';
import { ChatAnthropic } from '../../adapters/langchain/anthropic.ts';
import { ChatOpenAI, OpenAIEmbeddings } from '../../adapters/langchain/openai.ts';
import { UsageError } from '../../src/index.ts';
import { agentWithKey } from './_fixtures.ts';
import { keyIn, sdkMatrix } from './_sdk-matrix.ts';
import { startServer } from '../_fixtures/index.ts';

const call = async (model: BaseChatModel) => String((await model.invoke('hi')).content);
const stream = async (model: BaseChatModel) => {
  let text = '';
  for await (const chunk of await model.stream('hi')) text += String(chunk.content);
  return text;
};

sdkMatrix<BaseChatModel>({
  label: '@langchain/openai ChatOpenAI',
  keyHeader: 'authorization',
  baseURL: (origin) => `${origin}/v1`,
  client: (binding, baseURL) => new ChatOpenAI({ ...binding, model: 'gpt-test', configuration: { baseURL } }),
  call,
  stream,
});

sdkMatrix<BaseChatModel>({
  label: '@langchain/anthropic ChatAnthropic',
  keyHeader: 'x-api-key',
  baseURL: (origin) => origin,
  client: (binding, anthropicApiUrl) => new ChatAnthropic({ ...binding, model: 'claude-test', anthropicApiUrl }),
  call,
  stream,
});

describe('agent-vault/langchain', () => {
  const vault = { use: async () => undefined } as never;

  it('are the real LangChain classes; key options are refused', () => {
    expect(new ChatOpenAI({ vault, secret: 's', transport: 'standard' })).toBeInstanceOf(ChatOpenAIBase);
    expect(() => new ChatOpenAI({ vault, secret: 's', apiKey: 'sk-x' } as never)).toThrow(UsageError);
    expect(() => new ChatOpenAI({ vault, secret: 's', configuration: { apiKey: 'sk-x' } } as never)).toThrow(UsageError);
    expect(() => new ChatAnthropic({ vault, secret: 's', anthropicApiKey: 'sk-x' } as never)).toThrow(UsageError);
    expect(() => new ChatAnthropic({ vault, secret: 's', clientOptions: { authToken: 't' } } as never)).toThrow(/authToken/);
  });

  it('OpenAIEmbeddings sends the key per request; a refusal is the VaultError, unretried', async () => {
    const { vault: agent, key, owner, resolutions } = await agentWithKey('openai-api-key');
    const server = await startServer((_request, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ object: 'list', data: [{ object: 'embedding', index: 0, embedding: [0.5, 0.25] }], model: 'e', usage: { prompt_tokens: 1, total_tokens: 1 } }));
    });
    try {
      const embeddings = new OpenAIEmbeddings({ vault: agent, secret: 'openai-api-key', model: 'e', configuration: { baseURL: `${server.origin}/v1` } });
      expect(await embeddings.embedQuery('hi')).toEqual([0.5, 0.25]);
      expect(keyIn(server.requests[0]!, 'authorization')).toBe(key);
      await owner.revokeAgent('test-agent');
      await expect(embeddings.embedQuery('hi')).rejects.toMatchObject({ code: 'ACCESS_DENIED', reason: 'revoked' });
      expect(server.requests).toHaveLength(1);
      expect(resolutions).toHaveBeenCalledTimes(2);
    } finally {
      await server.close();
    }
  });
});
