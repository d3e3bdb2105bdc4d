/**
 * Reading secrets: locating a record by the keyed hash of its name, opening its value on demand
 * (SecretReader, both roles), and an agent's checks before it may (AgentAccess): its own record
 * (expiry, rotation, revocation, read afresh on every call), its patterns, and its grant.
 */
import type { Backend } from './backend.ts';
import { bytesToHex, equalBytes, secretBytes } from './_bytes.ts';
import { nameId } from './_keys.ts';
import {
  AGENT_ACTIVE, AGENT_REVOKED, ad, type AgentPolicy, decodeAgent, decodeSecret, type Grant, openPolicy, type SecretRecord,
} from './_records.ts';
import { fromBase64Url, KEY_BYTES, openInto, sealedLength, wipe } from './crypto.ts';
import { AccessDeniedError, IntegrityError, SecretNotFoundError, TokenExpiredError } from './errors.ts';
import { compileAllow } from './names.ts';
import type { AgentCredentials } from './token.ts';

/** A located value: decrypted into `target` on demand, or with null only verified. */
export interface SealedValue {
  version: number;
  length: number;
  openInto(target: Uint8Array | null): void;
}

/** A data key as a record holds it: wrapped under `key` (the owner's or an agent's), bound to `ad`. */
export interface WrappedKey {
  key: Uint8Array;
  wrapped: Uint8Array;
  ad: Uint8Array;
  what: string;
}

/** What an agent last read of its own record, reused while the stored bytes are unchanged. */
interface AgentState {
  bytes: Uint8Array;
  policy: AgentPolicy;
  nameKey: Uint8Array;
  allows: (name: string) => boolean;
}

export class SecretReader {
  readonly #backend: Backend;
  readonly #vaultId: Uint8Array;
  readonly #nameIds = new Map<string, string>();
  /**
   * The last record decoded per name id, reused while the stored bytes are byte-for-byte the
   * same; and which of those already verified (same bytes, same keys: the same answer), so the
   * per-request path does its checking opens once per stored record, not on every request.
   */
  readonly #decoded = new Map<string, { bytes: Uint8Array; record: SecretRecord }>();
  readonly #verified = new WeakSet<SecretRecord>();
  readonly #valueAds = new WeakMap<SecretRecord, Uint8Array>();

  constructor(backend: Backend, vaultId: Uint8Array) {
    this.#backend = backend;
    this.#vaultId = vaultId;
  }

  async read(nameId: string, name: string): Promise<SecretRecord> {
    const bytes = await this.#backend.get(`s/${nameId}`);
    if (!bytes) {
      throw new SecretNotFoundError(
        `No secret named "${name}" in this vault. The owner can add it: agent-vault set ${JSON.stringify(name)}`,
      );
    }
    const last = this.#decoded.get(nameId);
    if (last && equalBytes(last.bytes, bytes)) return last.record;
    const record = decodeSecret(bytes);
    if (this.#decoded.size >= 1_024) this.#decoded.clear();
    this.#decoded.set(nameId, { bytes, record });
    return record;
  }

  /** The backend key for a name: a keyed hash, so storage never sees names. */
  nameId(name: string, nameKey: Uint8Array): string {
    let id = this.#nameIds.get(name);
    if (id === undefined) {
      id = nameId(nameKey, name);
      if (this.#nameIds.size > 10_000) this.#nameIds.clear();
      this.#nameIds.set(name, id);
    }
    return id;
  }

  /**
   * A record's value, opened only on demand: the data key is unwrapped for each opening and wiped
   * at once, and both decryptions leave nothing in libsodium's memory (openInto).
   */
  sealedValue(nameId: string, record: SecretRecord, wrap: WrappedKey): SealedValue {
    let valueAd = this.#valueAds.get(record);
    if (!valueAd) this.#valueAds.set(record, (valueAd = ad.value(this.#vaultId, nameId, record.prefix)));
    return {
      version: record.version,
      length: sealedLength(record.sealedValue),
      openInto: (target) => {
        // A check without a target is done once per record: the same bytes verify the same way.
        if (target === null && this.#verified.has(record)) return;
        const dek = secretBytes(KEY_BYTES);
        try {
          openInto(wrap.key, wrap.wrapped, wrap.ad, dek, wrap.what);
          openInto(dek, record.sealedValue, valueAd, target, 'A stored secret');
          this.#verified.add(record);
        } finally {
          wipe(dek);
        }
      },
    };
  }

  forgetNameIds(): void {
    this.#nameIds.clear();
  }
}

export class AgentAccess {
  readonly #backend: Backend;
  readonly #vaultId: Uint8Array;
  readonly #reader: SecretReader;
  readonly #role: { credentials: AgentCredentials; loc: Uint8Array };
  readonly #now: () => number;
  #state: AgentState | undefined;
  /** This agent's verified grant in each record seen (see SecretReader's record reuse). */
  readonly #grants = new WeakMap<SecretRecord, { grant: Grant; ad: Uint8Array }>();

  constructor(
    backend: Backend, vaultId: Uint8Array, reader: SecretReader, role: { credentials: AgentCredentials; loc: Uint8Array },
    now: () => number,
  ) {
    this.#backend = backend;
    this.#vaultId = vaultId;
    this.#reader = reader;
    this.#role = role;
    this.#now = now;
  }

  /** Check this agent may read `name` now, and locate the value its grant opens. */
  async resolve(name: string): Promise<SealedValue> {
    const { credentials } = this.#role;
    // With the name key known from an earlier call, read the secret while the agent record is
    // checked; the record is only used once the agent's state allows it.
    const earlyId = this.#state && this.#reader.nameId(name, this.#state.nameKey);
    const early = earlyId === undefined ? undefined : this.#reader.read(earlyId, name);
    early?.catch(() => undefined);
    const state = await this.#loadState();
    if (this.#now() >= state.policy.expiresAt) {
      throw new TokenExpiredError(
        `The token of agent "${credentials.agentId}" expired at ${new Date(state.policy.expiresAt).toISOString()}. ` +
          `Ask the owner for a new one: agent-vault agent rotate ${credentials.agentId}`,
      );
    }
    if (!state.allows(name)) throw notGranted(credentials.agentId, name);
    const nameId = this.#reader.nameId(name, state.nameKey);
    const record = await (nameId === earlyId && early ? early : this.#reader.read(nameId, name));
    let found = this.#grants.get(record);
    if (!found) {
      const grantAd = ad.grant(this.#vaultId, nameId, record.version, credentials.agentId, credentials.generation);
      const grant = this.#findGrant(record, grantAd) ?? throwError(notGranted(credentials.agentId, name));
      this.#grants.set(record, (found = { grant, ad: grantAd }));
    }
    return this.#reader.sealedValue(nameId, record, { key: credentials.agentKey, wrapped: found.grant.wrappedKey, ad: found.ad, what: 'A grant' });
  }

  /**
   * This agent's grant in a record, checked to open (without unwrapping the data key). The grant
   * is found by its locator; when none matches, every grant is tried, so a tampered locator shows
   * as an IntegrityError when the value is opened rather than as a plausible "not granted".
   * Undefined when nothing opens.
   */
  #findGrant(record: SecretRecord, grantAd: Uint8Array): Grant | undefined {
    const { credentials, loc } = this.#role;
    const mine = record.grants.find((g) => g.generation === credentials.generation && equalBytes(g.agentLoc, loc));
    if (mine) {
      openInto(credentials.agentKey, mine.wrappedKey, grantAd, null, 'A grant');
      return mine;
    }
    for (const grant of record.grants) {
      try {
        openInto(credentials.agentKey, grant.wrappedKey, grantAd, null, 'A grant');
        return grant;
      } catch {
        // another agent's grant: expected not to open
      }
    }
    return undefined;
  }

  /** Read this agent's own record; revocation and rotation show here on the very next call. */
  async #loadState(): Promise<AgentState> {
    const { credentials, loc } = this.#role;
    const bytes = await this.#backend.get(`a/${bytesToHex(loc)}`);
    if (!bytes) {
      throw new AccessDeniedError(
        'unknown-agent',
        `This vault has no agent "${credentials.agentId}". The owner may have created it in another vault; check AGENT_VAULT_DIR.`,
      );
    }
    if (this.#state && equalBytes(this.#state.bytes, bytes)) return this.#state;
    const record = decodeAgent(bytes);
    if (record.generation > credentials.generation) {
      const revoked = record.status === AGENT_REVOKED;
      throw new AccessDeniedError(
        revoked ? 'revoked' : 'rotated',
        revoked
          ? `Agent "${credentials.agentId}" was revoked by the vault owner. Ask the owner for a new agent.`
          : `This token of agent "${credentials.agentId}" was replaced by a newer one (rotated). Use the new token.`,
      );
    }
    if (record.generation < credentials.generation || record.status !== AGENT_ACTIVE) {
      throw new IntegrityError(
        `The record of agent "${credentials.agentId}" is older than its token: the vault was rolled back or tampered with.`,
      );
    }
    const policy = openPolicy(this.#vaultId, credentials.agentId, record, credentials.agentKey, 'The agent record');
    if (this.#state) wipe(this.#state.nameKey);
    this.#state = {
      bytes,
      policy,
      nameKey: fromBase64Url(policy.nameKey),
      allows: compileAllow(policy.allow),
    };
    this.#reader.forgetNameIds();
    return this.#state;
  }

  /** Wipe the name key this agent last read. */
  wipe(): void {
    if (this.#state) wipe(this.#state.nameKey);
  }
}

function throwError(error: Error): never {
  throw error;
}

function notGranted(agentId: string, name: string): AccessDeniedError {
  return new AccessDeniedError(
    'not-granted',
    `Agent "${agentId}" is not granted "${name}". The owner can widen its patterns: ` +
      `agent-vault agent revoke ${agentId}, then agent create ${agentId} --allow ...`,
  );
}
