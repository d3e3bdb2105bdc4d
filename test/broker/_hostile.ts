/**
 * For the attack tests: a raw-socket client (bytes in, bytes out, nothing normalised by an HTTP
 * library) and a hostile upstream that echoes the key every way it can, redirects elsewhere,
 * hangs, and records what reached it.
 */
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';

/** Send `bytes` on a fresh connection and collect what comes back until the broker closes it (or, for a connection left open, `idleMs` of silence). */
export function raw(url: string, bytes: string | Buffer, idleMs = 15_000): Promise<string> {
  const { port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), '127.0.0.1');
    const chunks: Buffer[] = [];
    const done = () => resolve(Buffer.concat(chunks).toString('latin1'));
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('close', done);
    socket.on('error', () => undefined);
    socket.setTimeout(idleMs, () => socket.destroy());
    socket.write(bytes);
  });
}

/** The status codes of every response in `text`, in order. */
export function statuses(text: string): number[] {
  return [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((match) => Number(match[1]));
}

export interface Hostile {
  origin: string;
  /** Each request that reached it: path and credential headers. */
  received: { url: string; host?: string; authorization?: string; closedEarly?: boolean }[];
  close(): Promise<void>;
}

/** `key` is what it echoes (it is the provider: it gets the key and sends it back). */
export async function hostileUpstream(): Promise<Hostile> {
  const received: Hostile['received'] = [];
  const server = http.createServer((req, res) => {
    const entry: Hostile['received'][number] = { url: req.url ?? '', host: req.headers.host, authorization: req.headers.authorization };
    received.push(entry);
    res.on('close', () => (entry.closedEarly = !res.writableFinished));
    const key = (req.headers.authorization ?? '').replace(/^Bearer /, '');
    const path = new URL(req.url ?? '/', 'http://x').pathname.replace(/^\/base/, '');
    switch (path) {
      case '/echo-header':
        res.writeHead(401, { 'x-echo': key, 'www-authenticate': `Bearer error="${key}"`, [key]: '1' });
        return void res.end('{}');
      case '/echo-status':
        res.writeHead(401, `Bad key ${key}`);
        return void res.end('{}');
      case '/echo-unicode': {
        const escaped = [...key].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('');
        res.writeHead(401, { 'content-type': 'application/json' });
        return void res.end(`{"error":{"message":"bad key ${escaped}"}}`);
      }
      case '/echo-split':
        // the key split across two writes, so a search that looks at one chunk at a time misses it
        res.writeHead(403, { 'content-type': 'application/json' });
        res.write(`{"error":"${key.slice(0, 10)}`);
        return void setTimeout(() => res.end(`${key.slice(10)}"}`), 50);
      case '/echo-gzip':
        res.writeHead(401, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
        return void res.end(gzipSync(`{"error":"${key}"}`));
      case '/echo-sse-error':
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write('data: {"delta":"hi"}\n\n');
        return void res.end(`event: error\ndata: {"error":{"message":"invalid key ${key}"}}\n\n`);
      // The usual answer (a 2xx, not an event stream), whose body the broker passes on unsearched:
      // its head must still be redacted, a header named with the key too.
      case '/echo-header-200':
        res.writeHead(200, `OK ${key}`, { 'content-type': 'application/json', 'x-echo': key, [key]: '1', location: `/base/next?k=${encodeURIComponent(key)}` });
        return void res.end('{"ok":true}');
      case '/gzip-200':
        res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
        return void res.end(gzipSync('{"zipped":true}'));
      case '/cut-200':
        // a declared length never reached: the client must see a broken body, not a short one
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
        res.write('{"partial":');
        return void setTimeout(() => res.socket?.destroy(), 20);
      case '/echo-sse-split':
        // an event stream (searched as it passes) with the key cut across two packets
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(`data: {"delta":"${key.slice(0, 7)}`);
        return void setTimeout(() => res.end(`${key.slice(7)}"}\n\n`), 30);
      case '/echo-ok':
        res.writeHead(200, { 'content-type': 'application/json' });
        return void res.end(JSON.stringify({ headers: req.headers }));
      case '/redirect-away':
        res.writeHead(302, { location: 'http://evil.example/steal' });
        return void res.end();
      case '/hang':
        return; // never answers
      case '/stream-then-hang':
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        return void res.write('data: {"first":true}\n\n');
      default:
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ path: req.url }));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    close: () => new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
