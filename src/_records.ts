/**
 * The stored record formats: secrets (`s/<nameId>`) and agents (`a/<agentLoc>`), byte by byte in
 * FORMAT.md. Every byte of a record is authenticated: the value's seal covers everything in front
 * of it as associated data, together with the vault id and the backend key it lives under, so
 * flipping, truncating, extending or moving any record fails to open. (The value's length makes
 * a changed grant count a framing error, which an agent, unable to open the owner's parts, can
 * still see.)
 */
import { ByteReader, ByteWriter, concatBytes, equalBytes, malformed } from './_bytes.ts';
import { LOC_BYTES } from './_keys.ts';
import { encodeParts, KEY_BYTES, open, SEAL_OVERHEAD, seal, utf8 } from './crypto.ts';

const SECRET_MAGIC = utf8.encode('AVS1');
const AGENT_MAGIC = utf8.encode('AVA1');
const WRAPPED_KEY_BYTES = KEY_BYTES + SEAL_OVERHEAD;
/** More grants than this in one record is not a vault we wrote. */
const MAX_GRANTS = 10_000;

export interface Grant {
  agentLoc: Uint8Array;
  generation: number;
  wrappedKey: Uint8Array;
}

export interface SecretRecord {
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
    encodeParts('agent-vault/value/v1', [vaultId, nameId, prefix]),
  agentId: (vaultId: Uint8Array, loc: string) => encodeParts('agent-vault/agent-id/v1', [vaultId, loc]),
  policy: (vaultId: Uint8Array, agentId: string, generation: number, prefix: Uint8Array) =>
    encodeParts('agent-vault/policy/v1', [vaultId, agentId, generation, prefix]),
};

// ---- secrets ----

/** What encodeSecret writes: a record's fields in front of its value, and the value with its data key. */
export interface NewSecret extends Omit<SecretRecord, 'sealedValue' | 'prefix'> {
  vaultId: Uint8Array;
  nameId: string;
  dek: Uint8Array;
  value: Uint8Array;
}

export function encodeSecret(secret: NewSecret): Uint8Array {
  const writer = new ByteWriter()
    .bytes(SECRET_MAGIC)
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
  return concatBytes(prefix, seal(secret.dek, secret.value, ad.value(secret.vaultId, secret.nameId, prefix)));
}

export function decodeSecret(bytes: Uint8Array, what = 'A stored secret'): SecretRecord {
  const reader = new ByteReader(bytes, what);
  if (!equalBytes(reader.bytes(4), SECRET_MAGIC)) throw malformed(what);
  const version = reader.u32();
  const createdAt = reader.time();
  const updatedAt = reader.time();
  const sealedName = reader.bytes(reader.u16());
  const ownerWrap = reader.bytes(WRAPPED_KEY_BYTES);
  const count = reader.u16();
  if (count > MAX_GRANTS) throw malformed(what);
  const grants: Grant[] = [];
  for (let i = 0; i < count; i++) {
    grants.push({ agentLoc: reader.bytes(LOC_BYTES), generation: reader.u32(), wrappedKey: reader.bytes(WRAPPED_KEY_BYTES) });
  }
  const valueLength = reader.u32();
  const prefix = bytes.subarray(0, reader.offset);
  const sealedValue = reader.rest();
  if (sealedValue.length !== valueLength || valueLength < SEAL_OVERHEAD || version === 0) throw malformed(what);
  return { version, createdAt, updatedAt, sealedName, ownerWrap, grants, sealedValue, prefix };
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
  /** base64url of the key that turns names into backend keys (agents need it to find secrets). */
  nameKey: string;
}

export interface AgentRecord {
  generation: number;
  status: number;
  sealedId: Uint8Array;
  sealedPolicy: Uint8Array;
  prefix: Uint8Array;
}

export function encodeAgent(
  vaultId: Uint8Array,
  agentId: string,
  generation: number,
  status: number,
  sealedId: Uint8Array,
  agentKey: Uint8Array,
  policy: AgentPolicy,
): Uint8Array {
  const prefix = new ByteWriter().bytes(AGENT_MAGIC).u32(generation).u8(status).u16(sealedId.length).bytes(sealedId).finish();
  const policyBytes = utf8.encode(JSON.stringify(policy));
  return concatBytes(prefix, seal(agentKey, policyBytes, ad.policy(vaultId, agentId, generation, prefix)));
}

export function decodeAgent(bytes: Uint8Array, what = 'An agent record'): AgentRecord {
  const reader = new ByteReader(bytes, what);
  if (!equalBytes(reader.bytes(4), AGENT_MAGIC)) throw malformed(what);
  const generation = reader.u32();
  const status = reader.u8();
  const sealedId = reader.bytes(reader.u16());
  const prefix = bytes.subarray(0, reader.offset);
  const sealedPolicy = reader.rest();
  if (generation === 0 || status > AGENT_REVOKED || sealedPolicy.length < SEAL_OVERHEAD) throw malformed(what);
  return { generation, status, sealedId, sealedPolicy, prefix };
}

export function openPolicy(
  vaultId: Uint8Array,
  agentId: string,
  record: AgentRecord,
  agentKey: Uint8Array,
  what: string,
): AgentPolicy {
  const plain = open(agentKey, record.sealedPolicy, ad.policy(vaultId, agentId, record.generation, record.prefix), what);
  const policy = JSON.parse(utf8.decode(plain)) as AgentPolicy;
  // Authenticated, so written by the owner; still check the shape before trusting it.
  const ok = Array.isArray(policy.allow) && policy.allow.every((p) => typeof p === 'string') &&
    Number.isSafeInteger(policy.createdAt) && Number.isSafeInteger(policy.expiresAt) &&
    typeof policy.nameKey === 'string';
  if (!ok) throw malformed(what);
  return { allow: policy.allow, createdAt: policy.createdAt, expiresAt: policy.expiresAt, nameKey: policy.nameKey };
}
