/**
 * A loopback stand-in for the providers (OpenAI, Anthropic, Gemini shapes), for the broker
 * tests: it records what arrived (the key included: it is the provider) and answers like the
 * real APIs, streaming included. Run as a script (`node _provider.ts`) it is the provider "in its
 * own process": it prints its origin on stdout, and GET /__received returns what it recorded.
 *
 *   POST /v1/chat/completions       OpenAI chat; `"stream": true` → SSE chunks, `delayMs` apart
 *   POST /v1/messages               Anthropic messages; streaming likewise
 *   POST /v1beta/models/M:generateContent   Gemini
 *   GET  /echo                      401 quoting the credential headers (an echoing gateway)
 *   GET  /redirect?to=URL           302 to URL
 *   anything else                   200 {"path": ...}
 */
import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface Provider {
  origin: string;
  received: Received[];
  /** Let a gated stream (a request with `"gate": true`) send the events after its first. */
  openGate(): void;
  close(): Promise<void>;
}

export const STREAM_DELAY_MS = 150;
export const STREAM_WORDS = ['Hello', ' from', ' the', ' provider'];

export async function startProvider(port = 0): Promise<Provider> {
  const received: Received[] = [];
  let openGate!: () => void;
  const gate = new Promise<void>((resolve) => (openGate = resolve));
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const url = new URL(req.url ?? '/', 'http://provider');
      if (url.pathname === '/__received') return json(res, 200, received);
      received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      answer(url, req.headers, body, res, gate);
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    openGate,
    close: () => new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

function answer(url: URL, headers: IncomingHttpHeaders, body: string, res: http.ServerResponse, gate: Promise<void>): void {
  const request = body && headers['content-type']?.includes('json') ? JSON.parse(body) as Record<string, unknown> : {};
  if (url.pathname === '/echo') {
    const quoted = `${headers.authorization ?? ''} ${headers['x-api-key'] ?? ''} ${headers['x-goog-api-key'] ?? ''}`;
    res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': `Bearer realm="${quoted.trim()}"` });
    return void res.end(JSON.stringify({ error: { message: `Incorrect API key provided: ${quoted.trim()}` } }));
  }
  if (url.pathname === '/redirect') {
    res.writeHead(302, { location: url.searchParams.get('to') ?? '/' });
    return void res.end();
  }
  if (url.pathname === '/v1/chat/completions') {
    if (request.stream) {
      return stream(res, STREAM_WORDS.map((word, i) => ({
        id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'gpt-test',
        choices: [{ index: 0, delta: i === 0 ? { role: 'assistant', content: word } : { content: word }, finish_reason: null }],
      })), 'openai', request.gate ? gate : undefined);
    }
    return json(res, 200, {
      id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'gpt-test',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hello from the provider' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 1, completion_tokens: 4, total_tokens: 5 },
    });
  }
  if (url.pathname === '/v1/messages') {
    const message = { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-test', stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 1, output_tokens: 4 } };
    if (request.stream) {
      return stream(res, [
        { type: 'message_start', message: { ...message, content: [], stop_reason: null } },
        { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
        ...STREAM_WORDS.map((word) => ({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: word } })),
        { type: 'content_block_stop', index: 0 },
        { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 4 } },
        { type: 'message_stop' },
      ], 'anthropic');
    }
    return json(res, 200, { ...message, content: [{ type: 'text', text: 'Hello from the provider' }] });
  }
  if (url.pathname.endsWith(':generateContent')) {
    return json(res, 200, { candidates: [{ content: { role: 'model', parts: [{ text: 'Hello from the provider' }] }, finishReason: 'STOP' }] });
  }
  json(res, 200, { path: url.pathname });
}

function json(res: http.ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** Server-sent events, one every STREAM_DELAY_MS, so a test can see them arrive one by one. */
function stream(res: http.ServerResponse, events: object[], style: 'openai' | 'anthropic', gate?: Promise<void>): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  let i = 0;
  const next = () => {
    if (res.destroyed) return;
    if (i < events.length) {
      const event = events[i++]!;
      const name = style === 'anthropic' ? `event: ${(event as { type: string }).type}\n` : '';
      res.write(`${name}data: ${JSON.stringify(event)}\n\n`);
      if (i === 1 && gate) void gate.then(next);
      else setTimeout(next, STREAM_DELAY_MS);
    } else {
      if (style === 'openai') res.write('data: [DONE]\n\n');
      res.end();
    }
  };
  next();
}

if (import.meta.main) {
  const provider = await startProvider(Number(process.argv[2] ?? 0));
  process.stdout.write(`${provider.origin}\n`);
  process.on('SIGTERM', () => void provider.close().then(() => process.exit(0)));
}
