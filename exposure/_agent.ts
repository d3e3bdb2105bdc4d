/**
 * The agent process the exposure harness measures: an OpenAI client making chat completion
 * calls, in one of three modes, driven by the harness over IPC. Run with --expose-gc.
 *
 *   env        the usual setup: OPENAI_API_KEY in the environment, the plain SDK
 *   standard   agent-vault, the key written into a copy of the request headers (a JS string)
 *   hardened   agent-vault, the key written into the request head at the socket (never a string)
 *   broker     the plain SDK from its environment, as under `agent-vault exec`: a broker URL and a
 *              phantom key; the key is put in by the broker, another process
 *
 * Commands (from the harness): `request` (resolves with `done`), `work` (ms of unrelated
 * allocation), `idle` (ms of nothing), `heap` (a heap snapshot after forced GC, to a path).
 */
import { writeHeapSnapshot } from 'node:v8';
import OpenAIBase from 'openai';
import { openVault } from '../src/index.ts';
import { OpenAI } from '../adapters/openai.ts';

export type Mode = 'env' | 'standard' | 'hardened' | 'broker';

export type Command =
  | { id: number; cmd: 'request' }
  | { id: number; cmd: 'work'; ms: number }
  | { id: number; cmd: 'idle'; ms: number }
  | { id: number; cmd: 'heap'; path: string }
  | { id: number; cmd: 'exit' };

export interface Reply {
  id: number;
  ok: boolean;
  error?: string;
}

const mode = process.env.EXPOSURE_MODE as Mode;
const baseURL = process.env.EXPOSURE_BASE_URL!;

async function makeClient(): Promise<{ chat: OpenAIBase['chat'] }> {
  // Azure-style: every request carries an api-version query, so response URLs are long.
  const common = { maxRetries: 0, defaultQuery: { 'api-version': '2024-10-21' } };
  if (mode === 'env') return new OpenAIBase({ baseURL, ...common });
  if (mode === 'broker') return new OpenAIBase(common); // OPENAI_BASE_URL and OPENAI_API_KEY
  const vault = await openVault();
  return new OpenAI({ vault, secret: process.env.EXPOSURE_SECRET!, baseURL, ...common, transport: mode });
}

const client = await makeClient();

const messages = [{ role: 'user' as const, content: 'Say ok.' }];

/**
 * One unit of an agent's traffic: a completion, a streamed completion, and a call the provider
 * rejects with a 401 quoting the key (the SDK's error is caught, as an agent would).
 */
async function request(): Promise<void> {
  const completion = await client.chat.completions.create({ model: 'gpt-exposure', messages });
  if (completion.choices[0]?.message.content !== 'ok') throw new Error('unexpected completion');
  let streamed = '';
  for await (const chunk of await client.chat.completions.create({ model: 'gpt-exposure', messages, stream: true })) {
    streamed += chunk.choices[0]?.delta.content ?? '';
  }
  if (streamed !== 'ok') throw new Error('unexpected streamed completion');
  const rejected = await client.chat.completions.create({ model: 'echo-401', messages }).then(() => undefined, (error: unknown) => error);
  if ((rejected as { status?: number } | undefined)?.status !== 401) throw new Error('the echo request was not rejected');
}

/**
 * Unrelated work: strings, objects, JSON and buffers made and dropped, as an agent's own work
 * does, in 20 ms bursts with 20 ms pauses (an agent also waits on I/O).
 */
async function work(ms: number): Promise<void> {
  const end = Date.now() + ms;
  let kept: unknown[] = [];
  while (Date.now() < end) {
    const burst = Date.now() + 20;
    while (Date.now() < burst) {
      const text = Math.random().toString(36).repeat(8);
      kept.push(JSON.parse(JSON.stringify({ text, n: Math.random(), list: [text.slice(3), text.toUpperCase()] })));
      kept.push(Buffer.from(text.repeat(4)));
      if (kept.length > 20_000) kept = [];
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function heapSnapshot(path: string): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run the agent with --expose-gc');
  gc();
  gc();
  writeHeapSnapshot(path);
}

process.on('message', (message: Command) => {
  const reply = (error?: unknown) => {
    if (process.connected) process.send!({ id: message.id, ok: !error, error: error ? String(error) : undefined });
  };
  switch (message.cmd) {
    case 'request':
      request().then(() => reply(), reply);
      break;
    case 'work':
      work(message.ms).then(() => reply(), reply);
      break;
    case 'idle':
      setTimeout(() => reply(), message.ms);
      break;
    case 'heap':
      try {
        heapSnapshot(message.path);
        reply();
      } catch (error) {
        reply(error);
      }
      break;
    case 'exit':
      process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
process.send!({ id: 0, ok: true });
