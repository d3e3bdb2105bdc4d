/**
 * The stored record formats (format 2): secrets (`s/<nameId>`) and agents (`a/<agentLoc>`), byte
 * by byte in FORMAT.md. Every record is signed by the owner (src/_signed.ts) and verified before
 * any field is used, so an agent that can write the vault directory can destroy a record but
 * never forge, widen, extend or re-seal one. Each record also carries the state counter it was
 * written under (`seq`), which lets the signed state (src/_state.ts) tell a record left by an
 * interrupted owner operation (newer than the state) from an old one replayed into place.
 * Seals keep their associated data as well: the value's covers every byte in front of it.
 */
import { ByteReader, ByteWriter, concatBytes, equalBytes, malformed } from './_bytes.ts';
import { LOC_BYTES } from './_keys.ts';
import { type Signer, type SignedPlace, signRecord, verifiedBody } from './_signed.ts';
import { encodeParts, KEY_BYTES, open, SEAL_OVERHEAD, seal, utf8 } from './crypto.ts';
import { UsageError } from './errors.ts';

const SECRET_MAGIC = utf8.encode('AVS2');
const AGENT_MAGIC = utf8.encode('AVA2');
/** An agent record that also carries the previous generation during a rotation's grace (FORMAT.md). */
const AGENT_GRACE_MAGIC = utf8.encode('AVG2');
const WRAPPED_KEY_BYTES = KEY_BYTES + SEAL_OVERHEAD;
/** More grants than this in one record is not a vault we wrote. */
const MAX_GRANTS = 10_000;
/** Versions and generations are u32 on disk; the next one after this is refused, never wrapped. */
export const MAX_COUNTER = 0xffff_ffff;
/** The last millisecond a JavaScript Date can hold (ECMA-262 §21.4.1.1). */
export const MAX_TIME = 8.64e15;

export interface Grant {
  agentLoc: Uint8Array;
  generation: number;
  wrappedKey: Uint8Array;
}

export interface SecretRecord {
  /** The state counter this record was written under. */
  seq: number;
  version: number;
  createdAt: number;
  updatedAt: number;
  sealedName: Uint8Array;
  ownerWrap: Uint8Array;
  grants: Grant[];
  sealedValue: Uint8Array;
  /** Every byte before `sealedValue`: the value's associated data (with vault id and key). */
  prefix: Uint8Array;
}

// ---- associated data: what each ciphertext is bound to ----

export const ad = {
  root: (vaultId: Uint8Array, unlock: string) => encodeParts('agent-vault/root/v1', [vaultId, unlock]),
  name: (vaultId: Uint8Array, nameId: string) => encodeParts('agent-vault/name/v1', [vaultId, nameId]),
  ownerWrap: (vaultId: Uint8Array, nameId: string, version: number) =>
    encodeParts('agent-vault/dek/owner/v1', [vaultId, nameId, version]),
  grant: (vaultId: Uint8Array, nameId: string, version: number, agentId: string, generation: number) =>
    encodeParts('agent-vault/dek/agent/v1', [vaultId, nameId, version, agentId, generation]),
  value: (vaultId: Uint8Array, nameId: string, prefix: Uint8Array) =>
    encodeParts('agent-vault/value/v2', [vaultId, nameId, prefix]),
  agentId: (vaultId: Uint8Array, loc: string) => encodeParts('agent-vault/agent-id/v1', [vaultId, loc]),
  policy: (vaultId: Uint8Array, agentId: string, generation: number, prefix: Uint8Array) =>
    encodeParts('agent-vault/policy/v2', [vaultId, agentId, generation, prefix]),
  previousPolicy: (vaultId: Uint8Array, agentId: string, generation: number, prefix: Uint8Array) =>
    encodeParts('agent-vault/policy/previous/v2', [vaultId, agentId, generation, prefix]),
};

/** The number after `current` (a version or a generation), refused rather than wrapped to 0. */
export function nextCounter(current: number, what: string): number {
  if (!Number.isSafeInteger(current) || current < 0 || current >= MAX_COUNTER) {
    throw new UsageError(
      `The ${what} is at its limit (${MAX_COUNTER}); it cannot grow further. Delete it and create it again under ` +
        'the same name to start over.',
    );
  }
  return current + 1;
}

/** A time in milliseconds that a Date can hold, or the record is refused. */
function checkTime(ms: number, what: string): number {
  if (!Number.isSafeInteger(ms) || ms < 0 || ms > MAX_TIME) throw malformed(what);
  return ms;
}

// ---- secrets ----

/** What encodeSecret writes: a record's fields in front of its value, and the value with its data key. */
export interface NewSecret extends Omit<SecretRecord, 'sealedValue' | 'prefix'> {
  vaultId: Uint8Array;
  nameId: string;
  dek: Uint8Array;
  value: Uint8Array;
}

export function encodeSecret(secret: NewSecret, signer: Signer): Uint8Array {
  const writer = new ByteWriter()
    .bytes(SECRET_MAGIC)
    .time(secret.seq)
    .u32(secret.version)
    .time(secret.createdAt)
    .time(secret.updatedAt)
    .u16(secret.sealedName.length)
    .bytes(secret.sealedName)
    .bytes(secret.ownerWrap)
    .u16(secret.grants.length);
  for (const grant of secret.grants) {
    writer.bytes(grant.agentLoc).u32(grant.generation).bytes(grant.wrappedKey);
  }
  const prefix = writer.u32(secret.value.length + SEAL_OVERHEAD).finish();
  const body = concatBytes(prefix, seal(secret.dek, secret.value, ad.value(secret.vaultId, secret.nameId, prefix)));
  return signRecord(signer, secret.vaultId, `s/${secret.nameId}`, body);
}

/** Decode a secret record whose owner signature verifies for `place`; IntegrityError otherwise. */
export function decodeSecret(bytes: Uint8Array, place: SignedPlace, what = 'A stored secret'): SecretRecord {
  const body = verifiedBody(bytes, place, what);
  const reader = new ByteReader(body, what);
  if (!equalBytes(reader.bytes(4), SECRET_MAGIC)) throw malformed(what);
  const seq = reader.time();
  const version = reader.u32();
  const createdAt = checkTime(reader.time(), what);
  const updatedAt = checkTime(reader.time(), what);
  const sealedName = reader.bytes(reader.u16());
  const ownerWrap = reader.bytes(WRAPPED_KEY_BYTES);
  const count = reader.u16();
  if (count > MAX_GRANTS) throw malformed(what);
  const grants: Grant[] = [];
  for (let i = 0; i < count; i++) {
    grants.push({ agentLoc: reader.bytes(LOC_BYTES), generation: reader.u32(), wrappedKey: reader.bytes(WRAPPED_KEY_BYTES) });
  }
  const valueLength = reader.u32();
  const prefix = body.subarray(0, reader.offset);
  const sealedValue = reader.rest();
  if (sealedValue.length !== valueLength || valueLength < SEAL_OVERHEAD || version === 0) throw malformed(what);
  return { seq, version, createdAt, updatedAt, sealedName, ownerWrap, grants, sealedValue, prefix };
}

/** Open the value with its data key; the caller wipes the result. */
export function openValue(vaultId: Uint8Array, nameId: string, record: SecretRecord, dek: Uint8Array, what: string) {
  return open(dek, record.sealedValue, ad.value(vaultId, nameId, record.prefix), what);
}

// ---- agents ----

export const AGENT_ACTIVE = 0;
export const AGENT_REVOKED = 1;

export interface AgentPolicy {
  allow: string[];
  createdAt: number;
  expiresAt: number;
  /**
   * The names this agent is granted, each with its backend id (`s/<nameId>`). Agents get no
   * name key: one that was not granted a name cannot even compute where it would be stored.
   */
  names: Record<string, string>;
}

/**
 * The generation a rotation with a grace replaced, still honoured until `graceEndsAt`: its own
 * policy sealed under its own key, so the old token reads its scope without the new key.
 */
export interface PreviousGeneration {
  generation: number;
  graceEndsAt: number;
  sealedPolicy: Uint8Array;
  /** Every byte before `sealedPolicy`: its associated data. */
  prefix: Uint8Array;
}

export interface AgentRecord {
  seq: number;
  generation: number;
  status: number;
  sealedId: Uint8Array;
  previous: PreviousGeneration | undefined;
  sealedPolicy: Uint8Array;
  prefix: Uint8Array;
}

export interface NewAgent {
  vaultId: Uint8Array;
  loc: string;
  seq: number;
  agentId: string;
  generation: number;
  status: number;
  sealedId: Uint8Array;
  agentKey: Uint8Array;
  policy: AgentPolicy;
  /** During a grace: the replaced generation, its key and policy, and when it stops. */
  previous?: { generation: number; graceEndsAt: number; agentKey: Uint8Array; policy: AgentPolicy };
}

export function encodeAgent(agent: NewAgent, signer: Signer): Uint8Array {
  const previous = agent.previous;
  const writer = new ByteWriter().bytes(previous ? AGENT_GRACE_MAGIC : AGENT_MAGIC).time(agent.seq).u32(agent.generation)
    .u8(agent.status).u16(agent.sealedId.length).bytes(agent.sealedId);
  if (previous) {
    const plain = utf8.encode(JSON.stringify(previous.policy));
    const head = writer.u32(previous.generation).time(previous.graceEndsAt).u32(plain.length + SEAL_OVERHEAD).finish();
    writer.bytes(seal(previous.agentKey, plain, ad.previousPolicy(agent.vaultId, agent.agentId, previous.generation, head)));
  }
  const prefix = writer.finish();
  const policy = utf8.encode(JSON.stringify(agent.policy));
  const sealed = seal(agent.agentKey, policy, ad.policy(agent.vaultId, agent.agentId, agent.generation, prefix));
  return signRecord(signer, agent.vaultId, `a/${agent.loc}`, concatBytes(prefix, sealed));
}

/** Decode an agent record whose owner signature verifies for `place`; IntegrityError otherwise. */
export function decodeAgent(bytes: Uint8Array, place: SignedPlace, what = 'An agent record'): AgentRecord {
  const body = verifiedBody(bytes, place, what);
  const reader = new ByteReader(body, what);
  const magic = reader.bytes(4);
  const graced = equalBytes(magic, AGENT_GRACE_MAGIC);
  if (!graced && !equalBytes(magic, AGENT_MAGIC)) throw malformed(what);
  const seq = reader.time();
  const generation = reader.u32();
  const status = reader.u8();
  const sealedId = reader.bytes(reader.u16());
  let previous: PreviousGeneration | undefined;
  if (graced) {
    const previousGeneration = reader.u32();
    const graceEndsAt = checkTime(reader.time(), what);
    const length = reader.u32();
    const previousPrefix = body.subarray(0, reader.offset);
    previous = { generation: previousGeneration, graceEndsAt, sealedPolicy: reader.bytes(length), prefix: previousPrefix };
    // Only an active agent has a grace, and only for a generation older than its own.
    if (status !== AGENT_ACTIVE || previousGeneration === 0 || previousGeneration >= generation || length < SEAL_OVERHEAD) {
      throw malformed(what);
    }
  }
  const prefix = body.subarray(0, reader.offset);
  const sealedPolicy = reader.rest();
  if (generation === 0 || status > AGENT_REVOKED || sealedPolicy.length < SEAL_OVERHEAD) throw malformed(what);
  return { seq, generation, status, sealedId, previous, sealedPolicy, prefix };
}

export function openPolicy(vaultId: Uint8Array, agentId: string, record: AgentRecord, agentKey: Uint8Array, what: string): AgentPolicy {
  return openSealedPolicy(agentKey, record.sealedPolicy, ad.policy(vaultId, agentId, record.generation, record.prefix), what);
}

/** The previous generation's policy, opened with that generation's key (the old token's). */
export function openPreviousPolicy(
  vaultId: Uint8Array, agentId: string, previous: PreviousGeneration, agentKey: Uint8Array, what: string,
): AgentPolicy {
  const data = ad.previousPolicy(vaultId, agentId, previous.generation, previous.prefix);
  return openSealedPolicy(agentKey, previous.sealedPolicy, data, what);
}

function openSealedPolicy(agentKey: Uint8Array, sealed: Uint8Array, data: Uint8Array, what: string): AgentPolicy {
  return checkPolicy(JSON.parse(utf8.decode(open(agentKey, sealed, data, what))), what);
}

/** Signed, so written by the owner; still check the shape (and Date-range times) before trusting it. */
function checkPolicy(policy: AgentPolicy, what: string): AgentPolicy {
  const names = policy.names;
  const ok = Array.isArray(policy.allow) && policy.allow.every((p) => typeof p === 'string') &&
    typeof names === 'object' && names !== null && !Array.isArray(names) &&
    Object.values(names).every((id) => typeof id === 'string' && /^[0-9a-f]{32}$/.test(id));
  if (!ok) throw malformed(what);
  return {
    allow: policy.allow,
    createdAt: checkTime(policy.createdAt, what),
    expiresAt: checkTime(policy.expiresAt, what),
    names: Object.assign(Object.create(null), names),
  };
}
