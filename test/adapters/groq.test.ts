/** `agent-vault/groq` with the real groq-sdk. */
import GroqBase from 'groq-sdk';
import { describe, expect, it } from 'vitest';
import { Groq } from '../../adapters/groq.ts';
import { UsageError } from '../../src/index.ts';
import { type Handler, providerHandler } from './_servers.ts';
import { sdkMatrix } from './_sdk-matrix.ts';

/** Groq serves the OpenAI chat API under /openai/v1. */
const groqHandler = (): Handler => {
  const openai = providerHandler();
  return (request, res) => openai({ ...request, url: request.url.replace(/^\/openai\/v1\//, '/v1/') }, res);
};
const messages = [{ role: 'user' as const, content: 'hi' }];

sdkMatrix<Groq>({
  label: 'groq-sdk Groq',
  keyHeader: 'authorization',
  handler: groqHandler,
  baseURL: (origin) => origin,
  client: (binding, baseURL) => new Groq({ ...binding, baseURL }),
  call: async (client) => (await client.chat.completions.create({ model: 'llama-test', messages })).choices[0]?.message.content ?? '',
  stream: async (client) => {
    let text = '';
    for await (const chunk of await client.chat.completions.create({ model: 'llama-test', messages, stream: true })) {
      text += chunk.choices[0]?.delta.content ?? '';
    }
    return text;
  },
  // A path that is an absolute URL is sent there, with the client's auth headers.
  foreignCall: (client, url) => client.get(`${url}/models`),
});

describe('agent-vault/groq', () => {
  it('is a real Groq client holding a placeholder; an apiKey is refused', () => {
    const vault = { use: async () => undefined } as never;
    const client = new Groq({ vault, secret: 's', transport: 'standard' });
    expect(client).toBeInstanceOf(GroqBase);
    expect(client.apiKey).toMatch(/^agent-vault-placeholder-[0-9a-f]{32}$/);
    expect(() => new Groq({ vault, secret: 's', apiKey: 'gsk-x' } as never)).toThrow(UsageError);
  });
});
