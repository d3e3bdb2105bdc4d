/**
 * A server vault as a Backend, so the whole core (records, grants, checks) runs unchanged on
 * top of it. Every answer passes through the TrustedView (signatures, bindings, freshness).
 *
 * - The owner's writes are signed here: each entry at the next revision, with the new state;
 *   an agent record (`a/…`) goes together with its server policy (`p/…`: generation, status,
 *   expiry and the hash of the agent's auth key), which is what the server enforces.
 *   `withLock` is a lease on the server, so owners in different processes do not interleave.
 * - An agent reads only its own record and the secrets it asks for. The server returns the
 *   agent's own record with every secret, so the core's two reads of one resolution cost one
 *   request; nothing is kept past the resolution it belongs to.
 */
import type { Backend } from '../backend.ts';
import { agentKey, serverAuthKey } from '../_keys.ts';
import { ad, decodeAgent, openPolicy, openPreviousPolicy } from '../_records.ts';
import { open, randomBytes, sign, toBase64Url, utf8, wipe } from '../crypto.ts';
import { AccessDeniedError, BackendError, IntegrityError } from '../errors.ts';
import type { ServerClient } from './_client.ts';
import type { TrustedView } from './_trust.ts';
import {
  encodePolicy, type Entry, entryMessage, entryToJson, type ServerPolicy, type State, stateMessage, stateToJson, verifierOf,
} from './_wire.ts';

/** What the owner's side holds once unlocked: the signing key and the keys that open agent records. */
export interface OwnerSigner {
  vaultId: Uint8Array;
  secretKey: Uint8Array;
  rootKey: Uint8Array;
  ownerKey: Uint8Array;
  /** The owner's record-signing public key: what the agent records it reads back verify under. */
  recordKey: Uint8Array;
}

const LEASE_MS = 60_000;

export class RemoteBackend implements Backend {
  readonly name = 'server';
  readonly #client: ServerClient;
  readonly #view: TrustedView;
  readonly #ownKey: string | undefined;
  #signer: OwnerSigner | undefined;
  #state: State | undefined;
  /** The agent's own record as the last secret read returned it, for the core's next read of it. */
  #own: Promise<Uint8Array | undefined> | undefined;

  readonly #remember: ((rev: number) => Promise<void>) | undefined;

  /**
   * `ownKey`: the agent's own record key (`a/<loc>`); undefined for the owner. `remember`: keeps
   * the newest verified revision beyond this process (the owner's state file).
   */
  constructor(client: ServerClient, view: TrustedView, ownKey?: string, remember?: (rev: number) => Promise<void>) {
    this.#client = client;
    this.#view = view;
    this.#ownKey = ownKey;
    this.#remember = remember;
  }

  /** Called once the owner's root key is open: from here on this backend can sign. */
  unlock(signer: OwnerSigner): void {
    this.#signer = signer;
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    if (key === this.#ownKey && this.#own) {
      const own = this.#own;
      this.#own = undefined;
      return own;
    }
    const read = this.#read(key);
    if (this.#ownKey && key.startsWith('s/')) {
      this.#own = read.then((found) => found.own);
      this.#own.catch(() => undefined);
    }
    return (await read).value;
  }

  async #read(key: string): Promise<{ value: Uint8Array | undefined; own?: Uint8Array }> {
    const response = await this.#client.call<{ state: unknown; entries: unknown }>('POST', '/v1/read', { keys: [key] });
    const state = this.#accept(response.state);
    const expected = new Set([key, ...(this.#ownKey ? [this.#ownKey] : [])]);
    const byKey = new Map<string, unknown>();
    for (const json of Array.isArray(response.entries) ? response.entries : []) {
      const claimed = (json as { key?: unknown })?.key;
      if (typeof claimed !== 'string' || !expected.has(claimed) || byKey.has(claimed)) {
        throw new IntegrityError(`The vault server answered a read of ${key} with another record: records were swapped.`);
      }
      byKey.set(claimed, json);
    }
    const found = (name: string) => (byKey.has(name) ? this.#view.entry(byKey.get(name), name, state) : this.#view.absent(name));
    return { value: found(key), own: this.#ownKey && key !== this.#ownKey ? found(this.#ownKey) : undefined };
  }

  async set(key: string, value: Uint8Array): Promise<void> {
    const signer = this.#owner();
    const entries: { key: string; value: Uint8Array | null }[] = [{ key, value }];
    if (key.startsWith('a/')) entries.unshift({ key: `p/${key.slice(2)}`, value: serverPolicy(signer, key, value) });
    await this.#write(signer, entries);
  }

  async delete(key: string): Promise<void> {
    await this.#write(this.#owner(), [{ key, value: null }]);
  }

  async list(prefix: string): Promise<string[]> {
    this.#owner();
    const response = await this.#client.call<{ state: unknown; keys: unknown }>('POST', '/v1/list', { prefix });
    this.#accept(response.state);
    const keys = Array.isArray(response.keys) ? response.keys.filter((k): k is string => typeof k === 'string' && k.startsWith(prefix)) : [];
    return keys;
  }

  /** A lease on the server for the length of `fn`, renewed while it runs. */
  async withLock<T>(fn: () => Promise<T>): Promise<T> {
    this.#owner();
    const holder = toBase64Url(randomBytes(18));
    const deadline = Date.now() + LEASE_MS;
    for (let wait = 20; ; wait = Math.min(wait * 2, 500)) {
      const { ok } = await this.#client.call<{ ok: boolean }>('POST', '/v1/lease', { holder, ttlMs: LEASE_MS });
      if (ok) break;
      if (Date.now() > deadline) throw new BackendError('Another owner has held the vault server\'s write lease for a minute; retry later.');
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
    const renew = setInterval(() => void this.#client.call('POST', '/v1/lease', { holder, ttlMs: LEASE_MS }).catch(() => undefined), LEASE_MS / 3);
    try {
      // Another owner may have written since our last answer: start from the server's state.
      await this.list('header');
      return await fn();
    } finally {
      clearInterval(renew);
      await this.#client.call('POST', '/v1/release', { holder }).catch(() => undefined);
    }
  }

  #accept(json: unknown): State {
    const state = this.#view.state(json);
    this.#state = state;
    return state;
  }

  /** Flush the newest verified revision to the owner's memory (after writes, and on close). */
  async close(): Promise<void> {
    await this.#remember?.(this.#view.newest);
  }

  async #write(signer: OwnerSigner, changes: { key: string; value: Uint8Array | null }[]): Promise<void> {
    const rev = (this.#state?.rev ?? this.#view.newest) + 1;
    const entries: Entry[] = changes.map(({ key, value }) => ({
      key, value, rev, sig: sign(signer.secretKey, entryMessage(signer.vaultId, key, rev, value)),
    }));
    const state: State = { rev, sig: sign(signer.secretKey, stateMessage(signer.vaultId, rev)) };
    const response = await this.#client.call<{ state: unknown }>('POST', '/v1/write', {
      state: stateToJson(state), entries: entries.map(entryToJson),
    });
    this.#accept(response.state);
    this.#view.wrote(changes.map((c) => c.key), state);
    await this.#remember?.(state.rev);
  }

  #owner(): OwnerSigner {
    if (!this.#signer) {
      throw new AccessDeniedError('owner-only', 'Only the vault owner can change or list a server vault; this one was opened with an agent token.');
    }
    return this.#signer;
  }
}

/** The policy the server enforces for the agent record at `key`, read from that record with the owner's keys. */
function serverPolicy(signer: OwnerSigner, key: string, value: Uint8Array): Uint8Array {
  const loc = key.slice(2);
  const record = decodeAgent(value, { vaultId: signer.vaultId, key, publicKey: signer.recordKey });
  const id = utf8.decode(open(signer.ownerKey, record.sealedId, ad.agentId(signer.vaultId, loc), 'An agent record'));
  const agentSecret = agentKey(signer.rootKey, id, record.generation);
  try {
    const policy = openPolicy(signer.vaultId, id, record, agentSecret, 'An agent record');
    let previous: ServerPolicy['previous'];
    if (record.previous) {
      const previousSecret = agentKey(signer.rootKey, id, record.previous.generation);
      try {
        const { expiresAt } = openPreviousPolicy(signer.vaultId, id, record.previous, previousSecret, 'An agent record');
        const until = Math.min(record.previous.graceEndsAt, expiresAt);
        previous = { generation: record.previous.generation, until, verifier: verifierFor(previousSecret) };
      } finally {
        wipe(previousSecret);
      }
    }
    return encodePolicy({
      generation: record.generation, status: record.status, expiresAt: policy.expiresAt, verifier: verifierFor(agentSecret),
      ...(previous ? { previous } : {}),
    });
  } finally {
    wipe(agentSecret);
  }
}

/** The server's verifier of an agent key's auth key (the auth key itself is wiped). */
function verifierFor(agentSecret: Uint8Array): Uint8Array {
  const authKey = serverAuthKey(agentSecret);
  try {
    return verifierOf(authKey);
  } finally {
    wipe(authKey);
  }
}
