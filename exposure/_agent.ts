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
  if (mode === 'env') return new OpenAIBase({ baseURL, maxRetries: 0 });
  if (mode === 'broker') return new OpenAIBase({ maxRetries: 0 }); // OPENAI_BASE_URL and OPENAI_API_KEY
  const vault = await openVault();
  return new OpenAI({ vault, secret: 'openai-api-key', baseURL, maxRetries: 0, transport: mode });
}

const client = await makeClient();

async function request(): Promise<void> {
  const completion = await client.chat.completions.create({
    model: 'gpt-exposure',
    messages: [{ role: 'user', content: 'Say ok.' }],
  });
  if (completion.choices[0]?.message.content !== 'ok') throw new Error('unexpected completion');
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
