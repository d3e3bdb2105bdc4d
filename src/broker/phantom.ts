/**
 * Phantom keys: what the agent process holds instead of a provider key. Each is random,
 * prefixed `avp_` so secret scanners can recognise one, bound to one route, and valid until it
 * expires or is revoked (for `exec`: when the child exits, as the broker stops with it).
 *
 * Only a BLAKE2b hash of each key is kept. A presented key is hashed and looked up by that hash,
 * then compared in constant time, so neither the table nor the timing of a miss tells an
 * attacker how much of a guess was right. A phantom key opens nothing by itself: it works only
 * through the broker that minted it, and only for its route.
 */
import { constantTimeEqual, randomBytes } from '../crypto.ts';
import { phantomKeyHash } from '../_keys.ts';
import { UsageError } from '../errors.ts';
import { bytesToHex } from '../_bytes.ts';

export const PHANTOM_PREFIX = 'avp_';
const KEY_BYTES = 32;
const PHANTOM_FORMAT = /^avp_[A-Za-z0-9_-]{43}$/;

export interface PhantomKeyInfo {
  /** The name the audit records carry for requests made with this key. */
  readonly name: string;
  readonly route: string;
  readonly createdAt: number;
  readonly expiresAt: number;
}

/** Why a presented key was refused (the audit record's reason). */
export type PhantomRefusal = 'no-phantom-key' | 'bad-phantom-key' | 'expired-phantom-key' | 'wrong-route';

interface Entry extends PhantomKeyInfo {
  readonly hash: Uint8Array;
}

export class PhantomKeys {
  readonly #byHash = new Map<string, Entry>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Mint a key for `route`, named `name` (unique among live keys), living `ttlMs`. Returned once. */
  mint(name: string, route: string, ttlMs: number): { key: string; info: PhantomKeyInfo } {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name)) {
      throw new UsageError('A phantom key name is 1 to 64 letters, digits, dots, dashes or underscores, e.g. "research-bot".');
    }
    if (this.list().some((info) => info.name === name)) {
      throw new UsageError(`A phantom key named "${name}" is live already: revoke it first, or choose another name.`);
    }
    const key = PHANTOM_PREFIX + base64url(randomBytes(KEY_BYTES));
    const hash = phantomKeyHash(key);
    const createdAt = this.#now();
    const entry: Entry = { name, route, createdAt, expiresAt: createdAt + ttlMs, hash };
    this.#byHash.set(bytesToHex(hash), entry);
    return { key, info: publicInfo(entry) };
  }

  /** The key's info if `presented` is a live key of `route`, else why not. */
  check(presented: string | undefined, route: string): { ok: true; info: PhantomKeyInfo } | { ok: false; reason: PhantomRefusal; info?: PhantomKeyInfo } {
    if (presented === undefined) return { ok: false, reason: 'no-phantom-key' };
    if (!PHANTOM_FORMAT.test(presented)) return { ok: false, reason: 'bad-phantom-key' };
    const hash = phantomKeyHash(presented);
    const entry = this.#byHash.get(bytesToHex(hash));
    if (!entry || !constantTimeEqual(entry.hash, hash)) return { ok: false, reason: 'bad-phantom-key' };
    if (this.#now() >= entry.expiresAt) {
      this.#byHash.delete(bytesToHex(hash));
      return { ok: false, reason: 'expired-phantom-key', info: publicInfo(entry) };
    }
    if (entry.route !== route) return { ok: false, reason: 'wrong-route', info: publicInfo(entry) };
    return { ok: true, info: publicInfo(entry) };
  }

  /** Revoke the live key named `name`; false when there is none. */
  revoke(name: string): boolean {
    for (const [hash, entry] of this.#byHash) {
      if (entry.name === name) {
        this.#byHash.delete(hash);
        return true;
      }
    }
    return false;
  }

  /** Forget every key: none of them works any more. */
  revokeAll(): void {
    this.#byHash.clear();
  }

  /** The live keys (never the keys themselves). */
  list(): PhantomKeyInfo[] {
    const now = this.#now();
    return [...this.#byHash.values()].filter((entry) => now < entry.expiresAt).map(publicInfo);
  }
}

/** True for a string shaped like a phantom key (for scanners and the exec environment check). */
export function isPhantomKey(value: unknown): value is string {
  return typeof value === 'string' && PHANTOM_FORMAT.test(value);
}

function publicInfo({ name, route, createdAt, expiresAt }: Entry): PhantomKeyInfo {
  return { name, route, createdAt, expiresAt };
}

function base64url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}
