/**
 * The client side of heap.test.ts, run as `node --expose-gc --heap-snapshot-string-limit=… <this>`:
 * open the agent's vault (records from a file the test wrote, token from AGENT_VAULT_TOKEN),
 * make plain and streamed calls through an adapter client, keep the client, force GCs, and
 * write a V8 heap snapshot for the test to search.
 *
 * argv: <openai|anthropic|a scenario of _heap-scenarios.ts> <vault|plain> <baseURL> <records.json> <snapshot path>
 * `plain` is the baseline (openai and anthropic only): the SDK's own client given the key as
 * `apiKey`, as apps do today.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeHeapSnapshot } from 'node:v8';
import { openVault } from '../../src/index.ts';
import { memoryBackend } from '../../src/backends/memory.ts';

const [sdk, mode, baseURL, recordsPath, snapshotPath] = process.argv.slice(2) as [string, string, string, string, string];
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('Run with --expose-gc.');

const backend = memoryBackend();
const records = JSON.parse(readFileSync(recordsPath, 'utf8')) as Record<string, string>;
for (const [key, value] of Object.entries(records)) await backend.set(key, Buffer.from(value, 'base64'));
// A copy of the records without the owner's log: only the owner starts a log, so this agent
// declines auditing explicitly (what is measured here is key copies, not the audit).
const vault = await openVault({ backend, audit: false });

// The control: a secret read as a string on purpose and kept. The test must find it, which
// shows that a key left in a JS string would be found too.
(globalThis as { kept?: string }).kept = await vault.get('control-secret');

const holder = globalThis as { client?: unknown };
if (sdk === 'openai') {
  const { OpenAI } = await import('../../adapters/openai.ts');
  const { default: PlainOpenAI } = await import('openai');
  const client = mode === 'plain'
    ? new PlainOpenAI({ apiKey: await vault.get('provider-api-key'), baseURL })
    : new OpenAI({ vault, secret: 'provider-api-key', baseURL });
  holder.client = client;
  await client.chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }] });
  const stream = await client.chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }], stream: true });
  for await (const _ of stream) { /* drain */ }
  await client.responses.create({ model: 'gpt-test', input: 'hi' });
} else if (sdk === 'anthropic') {
  const { Anthropic } = await import('../../adapters/anthropic.ts');
  const { default: PlainAnthropic } = await import('@anthropic-ai/sdk');
  const client = mode === 'plain'
    ? new PlainAnthropic({ apiKey: await vault.get('provider-api-key'), baseURL })
    : new Anthropic({ vault, secret: 'provider-api-key', baseURL });
  holder.client = client;
  const params = { model: 'claude-test', max_tokens: 16, messages: [{ role: 'user' as const, content: 'hi' }] };
  await client.messages.create(params);
  await client.messages.stream(params).finalMessage();
} else {
  // The other adapters (heap-sdks.test.ts), through the agent-vault client only.
  const { scenarios } = await import('./_heap-scenarios.ts');
  holder.client = await scenarios[sdk]!.run(vault, baseURL);
}

// Let sockets, timers and stream tails settle, then collect everything unreachable (taking the
// snapshot collects garbage too; this makes sure finalizers and weak references have run).
for (let i = 0; i < 4; i++) {
  await sleep(20);
  gc();
}
writeHeapSnapshot(snapshotPath);
process.stdout.write('snapshot written\n');
