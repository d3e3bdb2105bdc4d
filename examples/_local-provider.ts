/**
 * A tiny stand-in for the OpenAI and Anthropic APIs on 127.0.0.1, so the examples (and the
 * demo) run without a provider account. It answers
 *
 *   POST /v1/chat/completions   (OpenAI, `stream: true` as server-sent events)
 *   POST /v1/responses          (OpenAI Responses, streaming too)
 *   POST /v1/messages           (Anthropic, streaming too)
 *
 * with a short canned reply, and checks the API key the way a provider does: `Authorization:
 * Bearer`, `x-api-key` or `api-key` must hold the expected key, else 401.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface LocalProvider {
  /** `http://127.0.0.1:<port>`: Anthropic's base URL. */
  origin: string;
  /** `http://127.0.0.1:<port>/v1`: OpenAI's base URL. */
  openaiBaseURL: string;
  /** How many requests arrived, and how many carried the expected key. */
  stats: { requests: number; authorized: number };
  close(): Promise<void>;
}

/** Start the stand-in on a free port. Requests must carry `apiKey`. */
export async function startLocalProvider(options: { apiKey: string }): Promise<LocalProvider> {
  const stats = { requests: 0, authorized: 0 };
  const server = createServer((req, res) => {
    readBody(req).then((body) => {
      stats.requests++;
      if (credentialOf(req) !== options.apiKey) {
        return sendJSON(res, 401, { type: 'error', error: { type: 'authentication_error', message: 'Invalid API key.' } });
      }
      stats.authorized++;
      respondLikeProvider(req.method ?? 'GET', req.url ?? '/', body, res);
    }).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    openaiBaseURL: `${origin}/v1`,
    stats,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** The credential a request carries, however it is sent. */
export function credentialOf(req: IncomingMessage): string | undefined {
  const authorization = req.headers['authorization'];
  if (authorization?.startsWith('Bearer ')) return authorization.slice('Bearer '.length);
  const key = req.headers['x-api-key'] ?? req.headers['api-key'];
  return Array.isArray(key) ? key[0] : key;
}

/** The reply text, split in two for streams. */
export const REPLY = ['Hello from the ', 'local stand-in provider.'] as const;

/** Answer one API request the way the provider would; 404 for paths it does not know. */
export function respondLikeProvider(method: string, url: string, rawBody: string, res: ServerResponse): void {
  // Azure OpenAI paths (/openai/deployments/<name>/chat/completions) map onto OpenAI's.
  const path = new URL(url, 'http://x').pathname.replace(/^\/openai(\/deployments\/[^/]+)?\//, '/v1/');
  let body: { stream?: boolean; model?: string } = {};
  try {
    body = JSON.parse(rawBody || '{}');
  } catch {
    return sendJSON(res, 400, { error: { message: 'The body is not JSON.', type: 'invalid_request_error' } });
  }
  const model = body.model ?? 'stand-in';
  if (method !== 'POST') return sendJSON(res, 405, { error: { message: `${method} is not supported here.` } });
  if (path === '/v1/chat/completions') return body.stream ? sendEvents(res, chatChunks(model)) : sendJSON(res, 200, chatCompletion(model));
  if (path === '/v1/responses') return body.stream ? sendEvents(res, responseEvents(model)) : sendJSON(res, 200, response(model, 'completed'));
  if (path === '/v1/messages') return body.stream ? sendEvents(res, messageEvents(model)) : sendJSON(res, 200, message(model));
  return sendJSON(res, 404, { error: { message: `No route ${path} in the stand-in provider.` } });
}

const CREATED = 1_700_000_000;
const TEXT = REPLY.join('');

function chatCompletion(model: string) {
  return {
    id: 'chatcmpl-standin', object: 'chat.completion', created: CREATED, model,
    choices: [{ index: 0, message: { role: 'assistant', content: TEXT, refusal: null }, logprobs: null, finish_reason: 'stop' }],
    usage: { prompt_tokens: 5, completion_tokens: 6, total_tokens: 11 },
  };
}

function chatChunks(model: string): Array<[string | undefined, unknown]> {
  const chunk = (delta: object, finish: string | null) => [undefined, {
    id: 'chatcmpl-standin', object: 'chat.completion.chunk', created: CREATED, model,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  }] as [undefined, unknown];
  return [
    chunk({ role: 'assistant', content: REPLY[0] }, null),
    chunk({ content: REPLY[1] }, null),
    chunk({}, 'stop'),
    [undefined, '[DONE]'],
  ];
}

function response(model: string, status: 'in_progress' | 'completed') {
  const done = status === 'completed';
  return {
    id: 'resp_standin', object: 'response', created_at: CREATED, status, model, error: null,
    incomplete_details: null, instructions: null, metadata: {}, parallel_tool_calls: true,
    temperature: 1, top_p: 1, tool_choice: 'auto', tools: [],
    output: done
      ? [{ type: 'message', id: 'msg_standin', status: 'completed', role: 'assistant',
        content: [{ type: 'output_text', text: TEXT, annotations: [] }] }]
      : [],
    usage: done
      ? { input_tokens: 5, output_tokens: 6, total_tokens: 11, input_tokens_details: { cached_tokens: 0 }, output_tokens_details: { reasoning_tokens: 0 } }
      : null,
  };
}

function responseEvents(model: string): Array<[string, unknown]> {
  const part = { item_id: 'msg_standin', output_index: 0, content_index: 0 };
  let sequence = 0;
  const event = (type: string, data: object): [string, unknown] => [type, { type, sequence_number: sequence++, ...data }];
  return [
    event('response.created', { response: response(model, 'in_progress') }),
    event('response.output_text.delta', { ...part, delta: REPLY[0] }),
    event('response.output_text.delta', { ...part, delta: REPLY[1] }),
    event('response.output_text.done', { ...part, text: TEXT }),
    event('response.completed', { response: response(model, 'completed') }),
  ];
}

function message(model: string) {
  return {
    id: 'msg_standin', type: 'message', role: 'assistant', model,
    content: [{ type: 'text', text: TEXT }],
    stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 5, output_tokens: 6 },
  };
}

function messageEvents(model: string): Array<[string, unknown]> {
  const event = (type: string, data: object): [string, unknown] => [type, { type, ...data }];
  return [
    event('message_start', { message: { ...message(model), content: [], stop_reason: null, usage: { input_tokens: 5, output_tokens: 0 } } }),
    event('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
    event('content_block_delta', { index: 0, delta: { type: 'text_delta', text: REPLY[0] } }),
    event('content_block_delta', { index: 0, delta: { type: 'text_delta', text: REPLY[1] } }),
    event('content_block_stop', { index: 0 }),
    event('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 6 } }),
    event('message_stop', {}),
  ];
}

function sendJSON(res: ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendEvents(res: ServerResponse, events: Array<[string | undefined, unknown]>): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  for (const [name, data] of events) {
    res.write(`${name ? `event: ${name}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
  }
  res.end();
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
