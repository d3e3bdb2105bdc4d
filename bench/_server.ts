/**
 * A minimal OpenAI-, Anthropic- and Gemini-compatible server on 127.0.0.1 for the request
 * benchmarks (a path with `/stream` answers with server-sent events). It
 * runs in a child process of its own, as a real provider would be, so the client's CPU time is
 * not also charged to the server's replies (they would share one event loop otherwise).
 */
import { fork } from 'node:child_process';
import { createServer } from 'node:http';

const chat = JSON.stringify({
  id: 'chatcmpl-bench', object: 'chat.completion', created: 0, model: 'bench',
  choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
});
const message = JSON.stringify({
  id: 'msg_bench', type: 'message', role: 'assistant', model: 'bench', content: [{ type: 'text', text: 'ok' }],
  stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 1, output_tokens: 1 },
});
const gemini = JSON.stringify({
  candidates: [{ content: { role: 'model', parts: [{ text: 'ok' }] }, finishReason: 'STOP', index: 0 }],
  usageMetadata: { promptTokenCount: 1, candidatesTokenCount: 1, totalTokenCount: 2 },
});

/** In the child: serve until the parent disconnects. */
function serve(): void {
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      if (request.url?.includes('/stream')) {
        // Three server-sent events at once: the benchmark times the first one's arrival.
        response.writeHead(200, { 'content-type': 'text/event-stream' });
        return void response.end(`data: ${chat}\n\ndata: ${chat}\n\ndata: [DONE]\n\n`);
      }
      response.writeHead(200, { 'content-type': 'application/json' });
      const url = request.url ?? '';
      response.end(url.includes('/messages') ? message : url.includes(':generateContent') ? gemini : chat);
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => process.send!((server.address() as { port: number }).port));
  process.on('disconnect', () => process.exit(0));
}

export async function startServer(): Promise<{ url: string; close: () => Promise<void> }> {
  const child = fork(import.meta.filename, ['--serve'], { stdio: 'inherit' });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (value) => resolve(value as number));
    child.once('exit', (code) => reject(new Error(`the benchmark server exited (${code})`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.disconnect();
    }),
  };
}

if (process.argv.includes('--serve')) serve();
