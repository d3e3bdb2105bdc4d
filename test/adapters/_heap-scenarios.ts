/**
 * The calls heap-sdks.test.ts makes through each SDK adapter, in the heap child (_heap-child.ts):
 * a plain call and a stream, returning what the child keeps alive (the client). Each imports
 * its SDK lazily, so the test process loads none of them.
 */
import type { Vault } from '../../src/index.ts';
import { geminiHandler } from './_gemini.ts';
import type { TestServer } from '../_fixtures/index.ts';
import type { Handler } from './_servers.ts';

export interface HeapScenario {
  /** A stand-in of its own (default: `heapHandler()`). */
  server?: () => Promise<Pick<TestServer, 'origin' | 'requests' | 'close'>>;
  /** The base URL the adapter is given on the stand-in's origin. */
  baseURL(origin: string): string;
  /** The header the key arrives in. */
  keyHeader: string;
  run(vault: Vault, baseURL: string): Promise<unknown>;
}

const secret = 'provider-api-key';
const prompt = 'hi';
const messages = [{ role: 'user' as const, content: prompt }];

async function drain(stream: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of stream) { /* drain */ }
}

async function aiSdk(model: import('ai').LanguageModel): Promise<void> {
  const { generateText, streamText } = await import('ai');
  await generateText({ model, prompt, maxOutputTokens: 16 });
  await drain(streamText({ model, prompt, maxOutputTokens: 16 }).textStream);
}

async function langchain(model: import('@langchain/core/language_models/chat_models').BaseChatModel): Promise<void> {
  await model.invoke(prompt);
  await drain(await model.stream(prompt));
}

export const scenarios: Record<string, HeapScenario> = {
  'ai-sdk-openai': {
    baseURL: (origin) => `${origin}/v1`,
    keyHeader: 'authorization',
    run: async (vault, baseURL) => {
      const provider = (await import('../../adapters/ai-sdk/openai.ts')).createOpenAI({ vault, secret, baseURL });
      await aiSdk(provider('gpt-test'));
      return provider;
    },
  },
  'ai-sdk-anthropic': {
    baseURL: (origin) => `${origin}/v1`,
    keyHeader: 'x-api-key',
    run: async (vault, baseURL) => {
      const provider = (await import('../../adapters/ai-sdk/anthropic.ts')).createAnthropic({ vault, secret, baseURL });
      await aiSdk(provider('claude-test'));
      return provider;
    },
  },
  'ai-sdk-google': {
    baseURL: (origin) => `${origin}/v1beta`,
    keyHeader: 'x-goog-api-key',
    run: async (vault, baseURL) => {
      const provider = (await import('../../adapters/ai-sdk/google.ts')).createGoogleGenerativeAI({ vault, secret, baseURL });
      await aiSdk(provider('gemini-test'));
      return provider;
    },
  },
  google: {
    baseURL: (origin) => origin,
    keyHeader: 'x-goog-api-key',
    run: async (vault, baseUrl) => {
      const ai = new (await import('../../adapters/google.ts')).GoogleGenAI({ vault, secret, httpOptions: { baseUrl } });
      await ai.models.generateContent({ model: 'gemini-test', contents: prompt });
      await drain(await ai.models.generateContentStream({ model: 'gemini-test', contents: prompt }));
      return ai;
    },
  },
  mistral: {
    baseURL: (origin) => origin,
    keyHeader: 'authorization',
    run: async (vault, serverURL) => {
      const client = new (await import('../../adapters/mistral.ts')).Mistral({ vault, secret, serverURL });
      await client.chat.complete({ model: 'mistral-test', messages });
      await drain(await client.chat.stream({ model: 'mistral-test', messages }));
      return client;
    },
  },
  groq: {
    baseURL: (origin) => origin,
    keyHeader: 'authorization',
    run: async (vault, baseURL) => {
      const client = new (await import('../../adapters/groq.ts')).Groq({ vault, secret, baseURL });
      await client.chat.completions.create({ model: 'llama-test', messages });
      await drain(await client.chat.completions.create({ model: 'llama-test', messages, stream: true }));
      return client;
    },
  },
  'langchain-openai': {
    baseURL: (origin) => `${origin}/v1`,
    keyHeader: 'authorization',
    run: async (vault, baseURL) => {
      const model = new (await import('../../adapters/langchain/openai.ts')).ChatOpenAI({ vault, secret, model: 'gpt-test', configuration: { baseURL } });
      await langchain(model);
      return model;
    },
  },
  'langchain-anthropic': {
    baseURL: (origin) => origin,
    keyHeader: 'x-api-key',
    run: async (vault, anthropicApiUrl) => {
      const model = new (await import('../../adapters/langchain/anthropic.ts')).ChatAnthropic({ vault, secret, model: 'claude-test', anthropicApiUrl });
      await langchain(model);
      return model;
    },
  },
  'openai-agents': {
    baseURL: (origin) => `${origin}/v1`,
    keyHeader: 'authorization',
    run: async (vault, baseURL) => {
      const { Agent, getGlobalTraceProvider, run } = await import('@openai/agents');
      const { useVaultForAgents } = await import('../../adapters/openai-agents.ts');
      const client = useVaultForAgents({ vault, secret, baseURL, tracing: { endpoint: `${baseURL}/traces/ingest` } });
      const agent = new Agent({ name: 'assistant', instructions: 'Answer briefly.', model: 'gpt-test' });
      await run(agent, prompt);
      const streamed = await run(agent, prompt, { stream: true });
      await drain(streamed.toTextStream());
      await streamed.completed;
      await getGlobalTraceProvider().forceFlush();
      return client;
    },
  },
  mcp: {
    // Imported when the test starts it: the heap child, which loads this file, has no vitest runner.
    server: async () => (await import('./_mcp-server.ts')).mcpServer(),
    baseURL: (origin) => `${origin}/mcp`,
    keyHeader: 'authorization',
    run: async (vault, url) => {
      const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
      const { StreamableHTTPClientTransport } = await import('../../adapters/mcp.ts');
      const transport = new StreamableHTTPClientTransport(new URL(url), { vault, secret });
      const client = new Client({ name: 'heap-client', version: '1.0.0' });
      await client.connect(transport);
      await client.listTools();
      await client.callTool({ name: 'echo', arguments: { text: prompt } });
      // Closed (its event stream would keep the child alive), but kept: the objects stay on the heap.
      await client.close();
      return { client, transport };
    },
  },
};

/** One stand-in for every scenario's API: Gemini, Groq's /openai/v1 prefix, trace ingest, OpenAI and Anthropic. */
export function heapHandler(): Handler {
  const gemini = geminiHandler();
  return (request, res) => {
    if (request.url.endsWith('/traces/ingest')) {
      res.writeHead(204);
      res.end();
      return;
    }
    gemini({ ...request, url: request.url.replace(/^\/openai\/v1\//, '/v1/') }, res);
  };
}
