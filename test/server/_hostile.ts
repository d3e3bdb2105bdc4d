/**
 * A deliberately malicious server double: a proxy in front of a real `serve` that hands every
 * /v1/read answer to `tamper` before the client sees it. The client must catch every lie.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll } from 'vitest';

export interface ReadAnswer {
  state: { rev: number; sig: string };
  entries: { key: string; value: string | null; rev: number; sig: string }[];
}

export type Tamper = (keys: string[], answer: ReadAnswer) => ReadAnswer;

const closers: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const close of closers.splice(0)) await close();
});

export async function hostileProxy(upstream: string): Promise<{ url: string; tamper: Tamper | undefined; reads: ReadAnswer[] }> {
  const control: { url: string; tamper: Tamper | undefined; reads: ReadAnswer[] } = { url: '', tamper: undefined, reads: [] };
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = chunks.length ? Buffer.concat(chunks).toString() : undefined;
    const response = await fetch(`${upstream}${req.url}`, {
      method: req.method,
      headers: Object.fromEntries(Object.entries(req.headers).filter(([k]) => ['authorization', 'content-type'].includes(k))) as Record<string, string>,
      body,
    });
    let text = await response.text();
    if (req.url === '/v1/read' && response.ok) {
      const answer = JSON.parse(text) as ReadAnswer;
      control.reads.push(structuredClone(answer));
      if (control.tamper) text = JSON.stringify(control.tamper(JSON.parse(body!).keys, answer));
    }
    res.writeHead(response.status, { 'content-type': 'application/json' });
    res.end(text);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise((resolve) => server.close(() => resolve())));
  control.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return control;
}
