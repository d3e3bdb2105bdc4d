/**
 * Request overhead: the wrapped clients against the plain SDK clients holding the key
 * themselves — same loopback server, same request — sequentially and with 64 in flight. The
 * wrapped OpenAI client also runs without an audit log, in the same rounds, so that what the
 * transport and resolution add is told apart from what the audit append adds.
 */
import { join } from 'node:path';
import PlainAnthropic from '@anthropic-ai/sdk';
import PlainOpenAI from 'openai';
import { Anthropic } from '../adapters/anthropic.ts';
import { OpenAI } from '../adapters/openai.ts';
import { compare, type Stats } from './_measure.ts';
import { copyToDirectory, fileAgent, KEY, memoryVault, tempDir } from './_fixtures.ts';
import { startServer } from './_server.ts';

export async function requests(): Promise<Record<string, Record<string, Stats>>> {
  const server = await startServer();
  const { backend, owner, token } = await memoryVault(10);
  await owner.set('anthropic-api-key', KEY);
  const { token: anthropicToken } = await owner.createAgent('bench-anthropic', { allow: ['anthropic-*'] });
  const dir = join(tempDir('requests'), 'vault');
  await copyToDirectory(backend, dir);
  const agent = await fileAgent(dir, token, true);
  const unaudited = await fileAgent(dir, token, false);
  const anthropicAgent = await fileAgent(dir, anthropicToken, true);
  await new Promise((resolve) => setTimeout(resolve, 1_100));

  const baseURL = `${server.url}/v1`;
  const plainOpenAI = new PlainOpenAI({ apiKey: KEY, baseURL, maxRetries: 0 });
  const wrappedOpenAI = new OpenAI({ vault: agent, secret: 'openai-api-key', baseURL, maxRetries: 0 });
  const unauditedOpenAI = new OpenAI({ vault: unaudited, secret: 'openai-api-key', baseURL, maxRetries: 0 });
  // The fallback transport (header substitution), to price the hardened default against it.
  const standardOpenAI = new OpenAI({ vault: agent, secret: 'openai-api-key', baseURL, maxRetries: 0, transport: 'standard' });
  const plainAnthropic = new PlainAnthropic({ apiKey: KEY, baseURL: server.url, maxRetries: 0 });
  const wrappedAnthropic = new Anthropic({ vault: anthropicAgent, secret: 'anthropic-api-key', baseURL: server.url, maxRetries: 0 });
  const chat = (client: PlainOpenAI) => () =>
    client.chat.completions.create({ model: 'bench', messages: [{ role: 'user', content: 'hi' }] });
  const message = (client: PlainAnthropic) => () =>
    client.messages.create({ model: 'bench', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] });

  const out: Record<string, Record<string, Stats>> = {};
  for (const [label, concurrency, perRound] of [['sequential', 1, 300], ['64 in flight', 64, 1_280]] as const) {
    out[`OpenAI chat.completions, ${label}`] = await compare(
      {
        'plain OpenAI': chat(plainOpenAI),
        'agent-vault OpenAI': chat(wrappedOpenAI),
        'agent-vault OpenAI, standard transport': chat(standardOpenAI),
        'agent-vault OpenAI, no audit log': chat(unauditedOpenAI),
      },
      { rounds: 6, perRound, concurrency, warmup: 100 },
    );
    out[`Anthropic messages, ${label}`] = await compare(
      { 'plain Anthropic': message(plainAnthropic), 'agent-vault Anthropic': message(wrappedAnthropic) },
      { rounds: 6, perRound, concurrency, warmup: 100 },
    );
  }
  await server.close();
  return out;
}
