/**
 * Reading secrets: locating a record, checking it (owner signature, signed state) once per
 * stored bytes, opening its value on demand (SecretReader, both roles), and an agent's checks
 * before it may (AgentAccess): its own record (expiry, rotation, revocation, read afresh on every
 * call), its patterns, and its grant.
 */
import { bytesToHex, equalBytes, secretBytes } from './_bytes.ts';
import { nameId } from './_keys.ts';
import {
  AGENT_ACTIVE, AGENT_REVOKED, ad, type AgentPolicy, type AgentRecord, decodeAgent, decodeSecret, type Grant, openPolicy,
  openPreviousPolicy, type SecretRecord,
} from './_records.ts';
import type { Checked, StateGuard, VaultState } from './_state.ts';
import { KEY_BYTES, openInto, sealedLength, wipe } from './crypto.ts';
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
interface AgentView {
  policy: AgentPolicy;
  allows: (name: string) => boolean;
  /** Names already matched against the patterns (the same policy gives the same answer). */
  allowed: Map<string, boolean>;
  /** For a token a rotation replaced with a grace: when the grace ends (checked on every call). */
  graceEndsAt?: number;
}

export class SecretReader {
  readonly #guard: StateGuard;
  readonly #vaultId: Uint8Array;
  readonly #publicKey: Uint8Array;
  readonly #nameIds = new Map<string, string>();
  /**
   * The last record checked per name id, reused while the stored bytes are byte-for-byte the
   * same; and which of those already opened (same bytes, same keys: the same answer), so the
   * per-request path verifies signatures and does its checking opens once per stored record.
   */
  readonly #checked = new Map<string, Checked<SecretRecord>>();
  readonly #verified = new WeakSet<SecretRecord>();
  readonly #valueAds = new WeakMap<SecretRecord, Uint8Array>();

  readonly #retain: boolean;
  /**
   * The one buffer data keys are unwrapped into, outside the V8 heap (secretBytes) and wiped
   * after every opening: openings are synchronous, so no two ever share it, and a buffer
   * allocated per opening cost more than the decryption itself.
   */
  readonly #dek = secretBytes(KEY_BYTES);

  /** `retain` false: check every read afresh and keep no record (server mode holds no ciphertext between requests). */
  constructor(guard: StateGuard, vaultId: Uint8Array, publicKey: Uint8Array, retain = true) {
    this.#guard = guard;
    this.#vaultId = vaultId;
    this.#publicKey = publicKey;
    this.#retain = retain;
  }

  /** The record last read for a name id, while it and `state` are unchanged (StateGuard.unchanged). */
  unchanged(nameId: string, state: VaultState): SecretRecord | undefined {
    const cached = this.#checked.get(nameId);
    return cached && this.#guard.unchanged(`s/${nameId}`, cached, state)?.value;
  }

  async read(nameId: string, name: string): Promise<SecretRecord> {
    const state = this.#guard.unchangedState();
    const unchanged = state && this.unchanged(nameId, state);
    if (unchanged) return unchanged;
    const key = `s/${nameId}`;
    const place = { vaultId: this.#vaultId, key, publicKey: this.#publicKey };
    const cached = this.#checked.get(nameId);
    // Dropped before the read: a refused record must not leave an older one cached behind it.
    this.#checked.delete(nameId);
    const found = await this.#guard.read(key, (bytes) => decodeSecret(bytes, place), 'A stored secret', cached);
    if (!found) throw secretNotFound(name);
    if (!this.#retain) return found.value;
    if (this.#checked.size >= 1_024) this.#checked.clear();
    this.#checked.set(nameId, found);
    return found.value;
  }

  /** The owner's backend key for a name: a keyed hash, so storage never sees names. */
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
        const dek = this.#dek;
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
}

export class AgentAccess {
  readonly #guard: StateGuard;
  readonly #vaultId: Uint8Array;
  readonly #reader: SecretReader;
  readonly #credentials: AgentCredentials;
  readonly #key: string;
  readonly #now: () => number;
  #own: Checked<AgentRecord> | undefined;
  #view: AgentView | undefined;
  /**
   * The value each record seen holds for this agent, through its grant (checked to open once):
   * the same record and keys open the same way (see SecretReader's record reuse).
   */
  readonly #grants = new WeakMap<SecretRecord, SealedValue>();

  constructor(guard: StateGuard, vaultId: Uint8Array, reader: SecretReader, credentials: AgentCredentials, now: () => number) {
    this.#guard = guard;
    this.#vaultId = vaultId;
    this.#reader = reader;
    this.#credentials = credentials;
    this.#key = `a/${bytesToHex(credentials.loc)}`;
    this.#now = now;
  }

  /** Check this agent may read `name` now, and locate the value its grant opens. */
  async resolve(name: string): Promise<SealedValue> {
    // While the state and both records are what was last checked (one revision check each, see
    // StateGuard.unchanged), nothing is read, decoded or verified again, and nothing awaits.
    const state = this.#guard.unchangedState();
    const view = this.#view;
    if (state && view && this.#guard.unchanged(this.#key, this.#own, state)) {
      const nameId = this.#admit(view, name);
      return this.#sealed(name, nameId, this.#reader.unchanged(nameId, state) ?? (await this.#reader.read(nameId, name)));
    }
    // With the name's id known from an earlier call, read the secret while the agent record is
    // checked; the record is only used once the agent's state allows it.
    const earlyId = this.#view?.policy.names[name];
    const early = earlyId === undefined ? undefined : this.#reader.read(earlyId, name);
    early?.catch(() => undefined);
    const nameId = this.#admit(await this.#loadView(), name);
    return this.#sealed(name, nameId, await (nameId === earlyId && early ? early : this.#reader.read(nameId, name)));
  }

  /**
   * The name id of `name` if this agent's record lets it read `name` now (unexpired, in its
   * grace if it has one, granted). On every call, the unchanged-files path included.
   */
  #admit(view: AgentView, name: string): string {
    const credentials = this.#credentials;
    if (view.graceEndsAt !== undefined && this.#now() >= view.graceEndsAt) throw rotated(credentials.agentId, view.graceEndsAt);
    if (this.#now() >= view.policy.expiresAt) {
      throw new TokenExpiredError(
        `The token of agent "${credentials.agentId}" expired at ${new Date(view.policy.expiresAt).toISOString()}. ` +
          `Ask the owner for a new one: agent-vault agent rotate ${credentials.agentId}`,
      );
    }
    let allowed = view.allowed.get(name);
    if (allowed === undefined) {
      allowed = view.allows(name);
      if (view.allowed.size >= 1_024) view.allowed.clear();
      view.allowed.set(name, allowed);
    }
    if (!allowed) throw notGranted(credentials.agentId, name);
    // Agents hold no name key: a name the owner did not list for this agent has no id it can compute.
    return view.policy.names[name] ?? throwError(secretNotFound(name));
  }

  /** The value of `record` as this agent's grant opens it. */
  #sealed(name: string, nameId: string, record: SecretRecord): SealedValue {
    const credentials = this.#credentials;
    let sealed = this.#grants.get(record);
    if (!sealed) {
      const grantAd = ad.grant(this.#vaultId, nameId, record.version, credentials.agentId, credentials.generation);
      const grant = this.#findGrant(record, grantAd) ?? throwError(notGranted(credentials.agentId, name));
      sealed = this.#reader.sealedValue(nameId, record, { key: credentials.agentKey, wrapped: grant.wrappedKey, ad: grantAd, what: 'A grant' });
      this.#grants.set(record, sealed);
    }
    return sealed;
  }

  /**
   * This agent's grant in a record, checked to open (without unwrapping the data key). The grant
   * is found by its locator; when none matches, every grant is tried, so a tampered locator shows
   * as an IntegrityError when the value is opened rather than as a plausible "not granted".
   * Undefined when nothing opens.
   */
  #findGrant(record: SecretRecord, grantAd: Uint8Array): Grant | undefined {
    const { agentKey, generation, loc } = this.#credentials;
    const mine = record.grants.find((g) => g.generation === generation && equalBytes(g.agentLoc, loc));
    if (mine) {
      openInto(agentKey, mine.wrappedKey, grantAd, null, 'A grant');
      return mine;
    }
    for (const grant of record.grants) {
      try {
        openInto(agentKey, grant.wrappedKey, grantAd, null, 'A grant');
        return grant;
      } catch {
        // another agent's grant: expected not to open
      }
    }
    return undefined;
  }

  /** Read this agent's own record; revocation and rotation show here on the very next call. */
  async #loadView(): Promise<AgentView> {
    const credentials = this.#credentials;
    const place = { vaultId: this.#vaultId, key: this.#key, publicKey: credentials.ownerKey };
    const own = await this.#guard.read(this.#key, (bytes) => decodeAgent(bytes, place, 'The agent record'), 'The agent record', this.#own);
    if (!own) {
      throw new AccessDeniedError(
        'unknown-agent',
        `This vault has no agent "${credentials.agentId}". The owner may have created it in another vault; check AGENT_VAULT_DIR.`,
      );
    }
    if (own === this.#own && this.#view) return this.#view;
    // Forget the last view first: if these new bytes are refused, the old ones must not be reused.
    this.#own = undefined;
    this.#view = undefined;
    const record = own.value;
    // A token a rotation replaced with a grace reads with its own policy, sealed to it in the
    // owner-signed record, until the grace ends (which resolve() checks on every call).
    const previous = record.previous?.generation === credentials.generation ? record.previous : undefined;
    if (previous) {
      const policy = openPreviousPolicy(this.#vaultId, credentials.agentId, previous, credentials.agentKey, 'The agent record');
      this.#own = own;
      this.#view = { policy, allows: compileAllow(policy.allow), allowed: new Map(), graceEndsAt: previous.graceEndsAt };
      return this.#view;
    }
    if (record.generation > credentials.generation) {
      if (record.status === AGENT_REVOKED) {
        throw new AccessDeniedError(
          'revoked', `Agent "${credentials.agentId}" was revoked by the vault owner. Ask the owner for a new agent.`,
        );
      }
      throw rotated(credentials.agentId);
    }
    if (record.generation < credentials.generation || record.status !== AGENT_ACTIVE) {
      throw new IntegrityError(
        `The record of agent "${credentials.agentId}" is older than its token: the vault was rolled back or tampered with.`,
      );
    }
    const policy = openPolicy(this.#vaultId, credentials.agentId, record, credentials.agentKey, 'The agent record');
    this.#own = own;
    this.#view = { policy, allows: compileAllow(policy.allow), allowed: new Map() };
    return this.#view;
  }
}

function rotated(agentId: string, graceEndedAt?: number): AccessDeniedError {
  return new AccessDeniedError(
    'rotated',
    `This token of agent "${agentId}" was replaced by a newer one (rotated)` +
      (graceEndedAt === undefined ? '' : `; its grace period ended at ${new Date(graceEndedAt).toISOString()}`) +
      '. Use the new token.',
  );
}

function throwError(error: Error): never {
  throw error;
}

function secretNotFound(name: string): SecretNotFoundError {
  return new SecretNotFoundError(
    `No secret named "${name}" in this vault. The owner can add it: agent-vault set ${JSON.stringify(name)}`,
  );
}

function notGranted(agentId: string, name: string): AccessDeniedError {
  return new AccessDeniedError(
    'not-granted',
    `Agent "${agentId}" may not read "${name}": it is not granted, or no secret has that name (check the ` +
      `spelling). If it should, the owner can widen its patterns: agent-vault agent update ${agentId} --allow PATTERN`,
  );
}
