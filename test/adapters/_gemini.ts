/**
 * A stand-in for the Gemini API (generateContent, and streamGenerateContent as server-sent
 * events), for the Google adapters; other paths go to the OpenAI/Anthropic stand-in.
 */
import type { ServerResponse } from 'node:http';
import { REPLY } from '../../examples/_local-provider.ts';
import type { Received } from '../_fixtures/index.ts';
import { type Handler, providerHandler } from './_servers.ts';

const usageMetadata = { promptTokenCount: 1, candidatesTokenCount: 2, totalTokenCount: 3 };
const candidate = (text: string, finishReason?: string) => ({
  content: { role: 'model', parts: [{ text }] }, index: 0, ...(finishReason ? { finishReason } : {}),
});

export function geminiHandler(): Handler {
  const fallback = providerHandler();
  return (request: Received, res: ServerResponse) => {
    const path = new URL(request.url, 'http://x').pathname;
    if (path.endsWith(':generateContent')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ candidates: [candidate(REPLY.join(''), 'STOP')], usageMetadata, modelVersion: 'gemini-test' }));
      return;
    }
    if (path.endsWith(':streamGenerateContent')) {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`data: ${JSON.stringify({ candidates: [candidate(REPLY[0])], modelVersion: 'gemini-test' })}\r\n\r\n`);
      res.write(`data: ${JSON.stringify({ candidates: [candidate(REPLY[1], 'STOP')], usageMetadata, modelVersion: 'gemini-test' })}\r\n\r\n`);
      res.end();
      return;
    }
    fallback(request, res);
  };
}
