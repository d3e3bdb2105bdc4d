/**
 * The headers the broker passes on, each way: the client's to the provider (without the
 * connection's own and without any credential the client sent), and the provider's to the client
 * (without the connection's own; a redirect into the upstream pointed back through the broker).
 * Both work on node:http's raw lists (names and values in turn): no object is made per header.
 */
import type { IncomingMessage } from 'node:http';
import { CREDENTIAL_HEADERS } from './routes.ts';

/** Headers that belong to one connection, never forwarded (RFC 9110 §7.6.1), plus ones we set. */
const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'host',
  'proxy-authorization', 'proxy-authenticate', 'expect', 'accept-encoding',
]);
const DROPPED_UPSTREAM = new Set<string>([...HOP_BY_HOP, ...CREDENTIAL_HEADERS]);

/**
 * The client's headers without hop-by-hop ones and without anything it sent as a credential, as
 * node:http takes them (lower-case names; a repeated header joined with ", ", as `Headers` would).
 */
export function forwardHeaders(req: IncomingMessage): Record<string, string> {
  // No prototype: a client's header named `constructor` or `__proto__` is just a header.
  const headers = Object.create(null) as Record<string, string>;
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (DROPPED_UPSTREAM.has(name)) continue;
    const value = raw[i + 1]!;
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  // Uncompressed, so the body streams through as it arrives and redaction sees plain bytes.
  headers['accept-encoding'] = 'identity';
  return headers;
}

/**
 * The provider's headers for the client (raw, as `res.writeHead` takes them). `decoded`: the
 * body was decoded on the way (so its encoding and length no longer hold). `location`: what a
 * redirect's target becomes (the broker's own path for one into the upstream), so the client
 * follows it through the broker and the key is never sent elsewhere by us.
 */
export function clientHeaders(raw: readonly string[], decoded: boolean, location: (value: string) => string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || (decoded && (lower === 'content-encoding' || lower === 'content-length'))) continue;
    out.push(name, lower === 'location' ? location(raw[i + 1]!) : raw[i + 1]!);
  }
  return out;
}
