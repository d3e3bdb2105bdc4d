/**
 * The long-running broker's admin channel: a unix socket in a directory only the broker's user
 * can enter (0700, owned by that user, checked before use), over which the owner mints, lists
 * and revokes phantom keys. One JSON request per connection, one JSON answer. The keys never
 * touch a disk: a restarted broker has none, and every key it minted is dead.
 */
import { chmodSync, lstatSync, mkdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseDuration } from '../duration.ts';
import { isVaultError, UsageError } from '../errors.ts';
import type { PhantomKeyInfo, PhantomKeys } from './phantom.ts';
import type { Route } from './routes.ts';

export type AdminRequest =
  | { op: 'create'; name: string; route: string; ttl: string }
  | { op: 'revoke'; name: string }
  | { op: 'list' };

export type AdminAnswer =
  | { ok: true; key?: string; baseUrl?: string; keys?: PhantomKeyInfo[]; revoked?: boolean }
  | { ok: false; error: { code: string; message: string } };

const MAX_REQUEST_BYTES = 4096;

/** Where the admin socket is unless `--admin` says: $XDG_RUNTIME_DIR, else the temp dir, per user. */
export function defaultAdminSocket(): string {
  const base = process.env.XDG_RUNTIME_DIR || tmpdir();
  return join(base, `agent-vault-broker-${process.getuid?.() ?? 'user'}`, 'admin.sock');
}

/** Make (or check) the socket's directory: ours, 0700, not a symlink. */
function privateDirectory(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const info = lstatSync(dir);
  const uid = process.getuid?.();
  if (!info.isDirectory() || (uid !== undefined && info.uid !== uid) || (info.mode & 0o077) !== 0) {
    throw new UsageError(
      `The admin socket's directory ${dir} must be a directory of this user with mode 0700 (others must not reach ` +
        'the socket). Fix it (chmod 700), or choose another path with --admin.',
    );
  }
}

export interface AdminServer {
  readonly path: string;
  close(): Promise<void>;
}

/** What the admin channel records: one `broker.key` audit record per mint or revocation. */
export type AdminAudit = (event: { outcome: 'ok' | 'denied'; note: string; reason?: string }) => Promise<void>;

interface AdminContext {
  keys: PhantomKeys;
  routes: readonly Route[];
  baseUrl: (route: Route) => string;
  audit: AdminAudit;
}

export async function startAdmin(
  path: string, keys: PhantomKeys, routes: readonly Route[], baseUrl: (route: Route) => string, audit: AdminAudit,
): Promise<AdminServer> {
  const context: AdminContext = { keys, routes, baseUrl, audit };
  privateDirectory(dirname(path));
  rmSync(path, { force: true }); // a socket left by a broker that crashed
  const server = net.createServer((socket) => {
    let input = '';
    socket.setEncoding('utf8');
    socket.setTimeout(5000, () => socket.destroy());
    socket.on('error', () => undefined);
    socket.on('data', (chunk: string) => {
      input += chunk;
      if (input.length > MAX_REQUEST_BYTES) return void socket.destroy();
      const end = input.indexOf('\n');
      if (end === -1) return;
      input = input.slice(0, end);
      void answer(input, context).then((reply) => socket.end(`${JSON.stringify(reply)}\n`));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  chmodSync(path, 0o600);
  return {
    path,
    close: () => new Promise((resolve) => server.close(() => {
      rmSync(path, { force: true });
      resolve();
    })),
  };
}

async function answer(line: string, { keys, routes, baseUrl, audit }: AdminContext): Promise<AdminAnswer> {
  try {
    const request = JSON.parse(line) as AdminRequest;
    switch (request?.op) {
      case 'create': {
        const route = routes.find((candidate) => candidate.name === request.route);
        if (!route) throw new UsageError(`This broker has no route "${String(request.route).slice(0, 40)}"; it serves ${routes.map((r) => r.name).join(', ')}.`);
        const { key, info } = keys.mint(String(request.name), route.name, parseDuration(String(request.ttl), '--ttl'));
        // Fail closed: a key whose minting is not on record is revoked before anyone sees it.
        await audit({ outcome: 'ok', note: `create key=${info.name} route=${info.route} expires=${new Date(info.expiresAt).toISOString()}` })
          .catch((error: unknown) => {
            keys.revoke(info.name);
            throw error;
          });
        return { ok: true, key, baseUrl: baseUrl(route) };
      }
      case 'revoke': {
        const revoked = keys.revoke(String(request.name));
        await audit({ outcome: revoked ? 'ok' : 'denied', note: `revoke key=${String(request.name).slice(0, 64)}`, ...(revoked ? {} : { reason: 'no-such-key' }) });
        return { ok: true, revoked };
      }
      case 'list':
        return { ok: true, keys: keys.list() };
      default:
        throw new UsageError('Unknown admin request.');
    }
  } catch (error) {
    const known = isVaultError(error);
    return { ok: false, error: { code: known ? error.code : 'USAGE', message: known ? error.message : 'The admin request is not valid JSON.' } };
  }
}

/** Send one request to the broker at `path` (the CLI's side). */
export function adminRequest(path: string, request: AdminRequest): Promise<AdminAnswer & { ok: true }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(path);
    let input = '';
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${JSON.stringify(request)}\n`));
    socket.on('data', (chunk: string) => (input += chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => reject(new UsageError(
      `No broker answers on ${path} (${error.code}). Start one with \`agent-vault broker\`, or point --admin at its socket.`,
    )));
    socket.on('end', () => {
      try {
        const reply = JSON.parse(input) as AdminAnswer;
        if (reply.ok) resolve(reply);
        else reject(new UsageError(reply.error.message));
      } catch {
        reject(new UsageError(`The broker on ${path} sent an answer that is not JSON.`));
      }
    });
  });
}
