/** `agent-vault/mistral` with the real @mistralai/mistralai. */
import { Mistral as MistralBase } from '@mistralai/mistralai';
import { HTTPClient } from '@mistralai/mistralai/lib/http.js';
import { describe, expect, it, vi } from 'vitest';
import { Mistral } from '../../adapters/mistral.ts';
import { UsageError } from '../../src/index.ts';
import { agentWithKey } from './_fixtures.ts';
import { keyIn, sdkMatrix, TEXT } from './_sdk-matrix.ts';
import { startServer } from '../_fixtures/index.ts';
import { providerHandler } from './_servers.ts';

const messages = [{ role: 'user' as const, content: 'hi' }];
// The SDK retries only when asked to; ask, with short intervals.
const retryConfig = {
  strategy: 'backoff' as const,
  backoff: { initialInterval: 1, maxInterval: 5, exponent: 1.1, maxElapsedTime: 5_000 },
  retryConnectionErrors: true,
};

sdkMatrix<Mistral>({
  label: '@mistralai/mistralai Mistral',
  keyHeader: 'authorization',
  baseURL: (origin) => origin,
  client: (binding, serverURL) => new Mistral({ ...binding, serverURL, retryConfig }),
  call: async (client) => String((await client.chat.complete({ model: 'mistral-test', messages })).choices?.[0]?.message?.content ?? ''),
  stream: async (client) => {
    let text = '';
    for await (const event of await client.chat.stream({ model: 'mistral-test', messages })) {
      text += String(event.data.choices[0]?.delta.content ?? '');
    }
    return text;
  },
  foreignCall: (client, serverURL) => client.chat.complete({ model: 'mistral-test', messages }, { serverURL }),
});

describe('agent-vault/mistral', () => {
  it('is a real Mistral client; an apiKey is refused', () => {
    const vault = { use: async () => undefined } as never;
    const client = new Mistral({ vault, secret: 's', transport: 'standard' });
    expect(client).toBeInstanceOf(MistralBase);
    expect(client.constructor).toBe(Mistral);
    expect(client.chat.complete).toBe(client.chat.complete);
    expect(() => new Mistral({ vault, secret: 's', apiKey: 'x' } as never)).toThrow(UsageError);
  });

  it("keeps the user's httpClient hooks and wraps its fetcher, once per attempt", async () => {
    const { vault, key } = await agentWithKey('mistral-api-key');
    const server = await startServer(providerHandler());
    try {
      const fetcher = vi.fn((input: Request | string | URL, init?: RequestInit) => fetch(input, init));
      const seen: string[] = [];
      const httpClient = new HTTPClient({ fetcher }).addHook('beforeRequest', (request) => {
        seen.push(request.headers.get('authorization') ?? '');
      });
      const client = new Mistral({ vault, secret: 'mistral-api-key', serverURL: server.origin, httpClient });
      const reply = await client.chat.complete({ model: 'mistral-test', messages });
      expect(reply.choices?.[0]?.message?.content).toBe(TEXT);
      expect(fetcher).toHaveBeenCalledTimes(1);
      expect(keyIn(server.requests[0]!, 'authorization')).toBe(key);
      expect(seen).toHaveLength(1);
      expect(seen[0]).toMatch(/^Bearer agent-vault-placeholder-/);
    } finally {
      await server.close();
    }
  });
});
