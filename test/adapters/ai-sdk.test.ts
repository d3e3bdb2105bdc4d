/** The Vercel AI SDK providers (`agent-vault/ai-sdk/*`) through `generateText` and `streamText`. */
import { generateText, type LanguageModel, RetryError, streamText } from 'ai';
import { describe, expect, it } from 'vitest';
import { createAnthropic } from '../../adapters/ai-sdk/anthropic.ts';
import { createGoogleGenerativeAI } from '../../adapters/ai-sdk/google.ts';
import { createOpenAI, withVault } from '../../adapters/ai-sdk/openai.ts';
import { UsageError } from '../../src/index.ts';
import { geminiHandler } from './_gemini.ts';
import { sdkMatrix } from './_sdk-matrix.ts';

const call = async (model: LanguageModel) => (await generateText({ model, prompt: 'hi' })).text;

/** streamText reports errors through `onError` and ends the stream; surface the first one. */
async function stream(model: LanguageModel): Promise<string> {
  let failure: unknown;
  const result = streamText({ model, prompt: 'hi', onError: ({ error }) => { failure ??= error; } });
  let text = '';
  for await (const part of result.textStream) text += part;
  if (failure !== undefined) throw failure;
  return text;
}

/**
 * After an attempt that failed (a 500), the AI SDK wraps the next, non-retryable error in its
 * RetryError: a refusal there is `lastError`, and was not retried (two attempts in all).
 */
function refusalAfterRetry(error: unknown): unknown {
  expect(RetryError.isInstance(error)).toBe(true);
  const { errors, lastError, reason } = error as RetryError;
  expect(reason).toBe('errorNotRetryable');
  expect(errors).toHaveLength(2);
  return lastError;
}

sdkMatrix({
  label: '@ai-sdk/openai createOpenAI',
  keyHeader: 'authorization',
  baseURL: (origin) => `${origin}/v1`,
  client: (binding, baseURL) => createOpenAI({ ...binding, baseURL })('gpt-test'),
  call,
  stream,
  refusalAfterRetry,
});

sdkMatrix({
  label: '@ai-sdk/anthropic createAnthropic',
  keyHeader: 'x-api-key',
  baseURL: (origin) => `${origin}/v1`,
  client: (binding, baseURL) => createAnthropic({ ...binding, baseURL })('claude-test'),
  call,
  stream,
  refusalAfterRetry,
});

sdkMatrix({
  label: '@ai-sdk/google createGoogleGenerativeAI',
  keyHeader: 'x-goog-api-key',
  handler: geminiHandler,
  baseURL: (origin) => `${origin}/v1beta`,
  client: (binding, baseURL) => createGoogleGenerativeAI({ ...binding, baseURL })('gemini-test'),
  call,
  stream,
  refusalAfterRetry,
});

describe('agent-vault/ai-sdk options', () => {
  it('refuses an apiKey, an authToken and a missing vault or secret with a UsageError', () => {
    const vault = { use: async () => undefined } as never;
    expect(() => createOpenAI({ vault, secret: 's', apiKey: 'sk-x' } as never)).toThrow(UsageError);
    expect(() => createAnthropic({ vault, secret: 's', authToken: 't' } as never)).toThrow(/authToken/);
    expect(() => createOpenAI({ secret: 's' } as never)).toThrow(/needs \{ vault, secret \}/);
  });

  it('withVault() gives the real factory a placeholder key and the vault fetch', () => {
    const vault = { use: async () => undefined } as never;
    const settings = withVault({ baseURL: 'https://example.test/v1' }, { vault, secret: 's' });
    expect(settings.apiKey).toMatch(/^agent-vault-placeholder-[0-9a-f]{32}$/);
    expect(settings.fetch.placeholder).toBe(settings.apiKey);
  });
});
