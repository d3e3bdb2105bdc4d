/**
 * Request overhead of the other SDK adapters: each wrapped client against the same SDK given the
 * key itself — same loopback server, same request, sequential. The AI SDK's OpenAI provider and
 * the Agents SDK use Chat Completions here (the server answers only that shape).
 */
import { join } from 'node:path';
import { createAnthropic as plainAnthropicProvider } from '@ai-sdk/anthropic';
import { createGoogleGenerativeAI as plainGoogleProvider } from '@ai-sdk/google';
import { createOpenAI as plainOpenAIProvider } from '@ai-sdk/openai';
import { GoogleGenAI as PlainGoogleGenAI } from '@google/genai';
import { ChatAnthropic as PlainChatAnthropic } from '@langchain/anthropic';
import { ChatOpenAI as PlainChatOpenAI } from '@langchain/openai';
import { Mistral as PlainMistral } from '@mistralai/mistralai';
import { Agent, OpenAIProvider as PlainOpenAIProvider, Runner } from '@openai/agents';
import { generateText, type LanguageModel } from 'ai';
import PlainGroq from 'groq-sdk';
import { createAnthropic } from '../adapters/ai-sdk/anthropic.ts';
import { createGoogleGenerativeAI } from '../adapters/ai-sdk/google.ts';
import { createOpenAI } from '../adapters/ai-sdk/openai.ts';
import { GoogleGenAI } from '../adapters/google.ts';
import { Groq } from '../adapters/groq.ts';
import { ChatAnthropic } from '../adapters/langchain/anthropic.ts';
import { ChatOpenAI } from '../adapters/langchain/openai.ts';
import { Mistral } from '../adapters/mistral.ts';
import { OpenAIProvider } from '../adapters/openai-agents.ts';
import { compare, type Stats } from './_measure.ts';
import { copyToDirectory, fileAgent, KEY, memoryVault, tempDir } from './_fixtures.ts';
import { startServer } from './_server.ts';

const secret = 'openai-api-key';
const messages = [{ role: 'user' as const, content: 'hi' }];
const options = { rounds: 4, perRound: 150, warmup: 30 };

export async function sdks(): Promise<Record<string, Record<string, Stats>>> {
  const server = await startServer();
  const { backend, token } = await memoryVault(10);
  const dir = join(tempDir('sdks'), 'vault');
  await copyToDirectory(backend, dir);
  const vault = await fileAgent(dir, token, true);
  const origin = server.url;
  const pair = async (label: string, plain: () => Promise<unknown>, wrapped: () => Promise<unknown>) =>
    [label, await compare({ plain, 'agent-vault': wrapped }, options)] as const;
  const text = (model: LanguageModel) => () => generateText({ model, prompt: 'hi', maxRetries: 0, maxOutputTokens: 16 });
  const chat = (client: PlainGroq) => () => client.chat.completions.create({ model: 'bench', messages });
  const mistral = (client: PlainMistral) => () => client.chat.complete({ model: 'bench', messages });
  const gemini = (ai: PlainGoogleGenAI) => () => ai.models.generateContent({ model: 'bench', contents: 'hi' });
  const invoke = (model: { invoke(input: string): Promise<unknown> }) => () => model.invoke('hi');
  const agent = new Agent({ name: 'bench', instructions: 'Be brief.', model: 'bench' });
  const runner = (modelProvider: PlainOpenAIProvider) => {
    const r = new Runner({ modelProvider, tracingDisabled: true });
    return () => r.run(agent, 'hi');
  };

  const out = Object.fromEntries([
    await pair('AI SDK createOpenAI (chat), generateText',
      text(plainOpenAIProvider({ apiKey: KEY, baseURL: `${origin}/v1` }).chat('bench')),
      text(createOpenAI({ vault, secret, baseURL: `${origin}/v1` }).chat('bench'))),
    await pair('AI SDK createAnthropic, generateText',
      text(plainAnthropicProvider({ apiKey: KEY, baseURL: `${origin}/v1` })('bench')),
      text(createAnthropic({ vault, secret, baseURL: `${origin}/v1` })('bench'))),
    await pair('AI SDK createGoogleGenerativeAI, generateText',
      text(plainGoogleProvider({ apiKey: KEY, baseURL: `${origin}/v1beta` })('bench')),
      text(createGoogleGenerativeAI({ vault, secret, baseURL: `${origin}/v1beta` })('bench'))),
    await pair('Google GenAI generateContent',
      gemini(new PlainGoogleGenAI({ apiKey: KEY, httpOptions: { baseUrl: origin } })),
      gemini(new GoogleGenAI({ vault, secret, httpOptions: { baseUrl: origin } }))),
    await pair('Mistral chat.complete',
      mistral(new PlainMistral({ apiKey: KEY, serverURL: origin })),
      mistral(new Mistral({ vault, secret, serverURL: origin }))),
    await pair('Groq chat.completions',
      chat(new PlainGroq({ apiKey: KEY, baseURL: origin, maxRetries: 0 })),
      chat(new Groq({ vault, secret, baseURL: origin, maxRetries: 0 }))),
    await pair('LangChain ChatOpenAI invoke',
      invoke(new PlainChatOpenAI({ apiKey: KEY, model: 'bench', maxRetries: 0, configuration: { baseURL: `${origin}/v1` } })),
      invoke(new ChatOpenAI({ vault, secret, model: 'bench', maxRetries: 0, configuration: { baseURL: `${origin}/v1` } }))),
    await pair('LangChain ChatAnthropic invoke',
      invoke(new PlainChatAnthropic({ apiKey: KEY, model: 'bench', maxRetries: 0, anthropicApiUrl: origin })),
      invoke(new ChatAnthropic({ vault, secret, model: 'bench', maxRetries: 0, anthropicApiUrl: origin }))),
    await pair('OpenAI Agents run (chat completions)',
      runner(new PlainOpenAIProvider({ apiKey: KEY, baseURL: `${origin}/v1`, useResponses: false })),
      runner(new OpenAIProvider({ vault, secret, baseURL: `${origin}/v1`, useResponses: false }))),
  ]);
  await server.close();
  return out;
}
