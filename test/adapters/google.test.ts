/** `agent-vault/google` with the real @google/genai (Gemini Developer API). */
import { GoogleGenAI as GoogleGenAIBase } from '@google/genai';
import { describe, expect, it, vi } from 'vitest';
import { GoogleGenAI } from '../../adapters/google.ts';
import { UsageError } from '../../src/index.ts';
import { geminiHandler } from './_gemini.ts';
import { startServer } from '../_fixtures/index.ts';
import { agentWithKey } from './_fixtures.ts';
import { keyIn, sdkMatrix, TEXT } from './_sdk-matrix.ts';
import { failingFirst } from './_servers.ts';

const request = { model: 'gemini-test', contents: 'hi' };

sdkMatrix<GoogleGenAI>({
  label: '@google/genai GoogleGenAI',
  keyHeader: 'x-goog-api-key',
  handler: geminiHandler,
  baseURL: (origin) => origin,
  // The SDK retries only when asked to; ask, with a short delay.
  client: (binding, baseUrl) => new GoogleGenAI({ ...binding, httpOptions: { baseUrl, retryOptions: { attempts: 3, initialDelay: 0.001 } } }),
  call: async (ai) => (await ai.models.generateContent(request)).text ?? '',
  stream: async (ai) => {
    let text = '';
    for await (const chunk of await ai.models.generateContentStream(request)) text += chunk.text ?? '';
    return text;
  },
  foreignCall: (ai, baseUrl) => ai.models.generateContent({ ...request, config: { httpOptions: { baseUrl } } }),
});

describe('agent-vault/google', () => {
  const vault = { use: async () => undefined } as never;

  it('is a real GoogleGenAI client; apiKey, Vertex AI and Enterprise mode are refused', () => {
    expect(new GoogleGenAI({ vault, secret: 's', transport: 'standard' })).toBeInstanceOf(GoogleGenAIBase);
    expect(() => new GoogleGenAI({ vault, secret: 's', apiKey: 'AIza-x' } as never)).toThrow(UsageError);
    expect(() => new GoogleGenAI({ vault, secret: 's', vertexai: true } as never)).toThrow(/Vertex AI/);
    expect(() => new GoogleGenAI({ vault, secret: 's', enterprise: true } as never)).toThrow(/Vertex AI/);
  });

  it('GOOGLE_GENAI_USE_VERTEXAI in the environment does not switch it away from the API key', () => {
    process.env.GOOGLE_GENAI_USE_VERTEXAI = 'true';
    try {
      expect(new GoogleGenAI({ vault, secret: 's', transport: 'standard' }).vertexai).toBe(false);
    } finally {
      delete process.env.GOOGLE_GENAI_USE_VERTEXAI;
    }
  });

  it("wraps the user's own httpOptions.fetch, once per attempt, and keeps the SDK's retries", async () => {
    const { vault: agent, key } = await agentWithKey('gemini-api-key');
    const server = await startServer(failingFirst(1, 503, geminiHandler()));
    try {
      const userFetch = vi.fn((input: string | URL | Request, init?: RequestInit) => fetch(input, init));
      const ai = new GoogleGenAI({
        vault: agent, secret: 'gemini-api-key',
        httpOptions: { baseUrl: server.origin, fetch: userFetch, retryOptions: { attempts: 2, initialDelay: 0.001 } },
      });
      expect((await ai.models.generateContent(request)).text).toBe(TEXT);
      expect(userFetch).toHaveBeenCalledTimes(2);
      expect(server.requests.map((r) => keyIn(r, 'x-goog-api-key'))).toEqual([key, key]);
    } finally {
      await server.close();
    }
  });

  it('the Live API (key in a WebSocket URL) is refused with a UsageError, no connection made', async () => {
    const ai = new GoogleGenAI({ vault, secret: 's', transport: 'standard' });
    await expect(ai.live.connect({ model: 'gemini-live', callbacks: { onmessage: () => undefined } })).rejects.toThrow(/WebSocket URL/);
    await expect(ai.live.music.connect({ model: 'lyria', callbacks: { onmessage: () => undefined } })).rejects.toBeInstanceOf(UsageError);
  });
});
