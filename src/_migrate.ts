/**
 * The one-time upgrade of a format-1 vault (records authenticated only under keys agents hold)
 * to format 2 (owner-signed records, a signed state, keyed agent locations, per-agent name
 * lists), in place, under the vault's lock: `agent-vault migrate` or `migrateVault()`.
 *
 * Every agent moves to its next generation, so format-1 tokens (whose keys could re-derive the
 * new one's grants otherwise) stop working; the result holds a new token for each agent not
 * revoked. The header is written last: until then the vault is format 1 and a re-run picks up
 * where an interrupted one stopped (records already in format 2 are kept as they are).
 *
 * The readers of format 1 live here and only here: nothing else trusts a format-1 record.
 */
import type { Backend } from './backend.ts';
import { ByteReader, bytesToHex, equalBytes, malformed } from './_bytes.ts';
import { encodeHeader, HEADER_KEY } from './_header.ts';
import { agentKey, agentLocV1, LOC_BYTES } from './_keys.ts';
import { readHeader, resolveStorage, unlockRootKey } from './_open.ts';
import { agentInfo, type ImportedAgent, type ImportedSecret } from './_owner-records.ts';
import { ownerRole } from './_owner-role.ts';
import { AGENT_REVOKED, ad, type AgentRecord, decodeAgent, decodeSecret, nextCounter, openPolicy } from './_records.ts';
import { decodeState, STATE_KEY, type VaultState } from './_state.ts';
import { encodeParts, initCrypto, KEY_BYTES, open, SEAL_OVERHEAD, utf8, wipe } from './crypto.ts';
import { UsageError } from './errors.ts';
import type { AgentInfo, OpenVaultOptions } from './options.ts';

const WHAT_SECRET = 'A format-1 secret';
const WHAT_AGENT = 'A format-1 agent record';

export interface MigrationResult {
  /** False when the vault was already format 2 (nothing was changed). */
  migrated: boolean;
  /** A new token for every agent that is not revoked: format-1 tokens no longer open anything. */
  agents: { token: string; agent: AgentInfo }[];
}

/** Upgrade the vault to format 2 in place. Owner only: takes the same options as openVault. */
export async function migrateVault(options: OpenVaultOptions): Promise<MigrationResult> {
  if (options.passphrase === undefined && options.keyFile === undefined) {
    throw new UsageError('migrateVault needs the owner unlock: { passphrase } or { keyFile }.');
  }
  const ready = initCrypto();
  const { backend, audit } = await resolveStorage(options);
  const header = await readHeader(backend, options.dir, ready);
  if (header.format === 2) return { migrated: false, agents: [] };
  const now = options.now ?? Date.now;
  const rootKey = await unlockRootKey(header, options);
  const role = await ownerRole({ backend, vaultId: header.vaultId, rootKey, now, audit, configDir: options.configDir });
  try {
    const run = async () => {
      const vaultId = header.vaultId;
      const state = await existingState(backend, vaultId, role.signer.publicKey);
      const agents = await readAgents(backend, vaultId, rootKey, role.ownerKey, role.signer.publicKey);
      const secrets = await readSecrets(backend, vaultId, role.ownerKey, role.signer.publicKey);
      const written = await role.store.importRecords(agents, secrets, state);
      for (const secret of secrets) wipe(secret.value);
      // The old records' locations are unkeyed hashes: remove them once the new ones are in.
      for (const agent of agents) {
        const old = `a/${bytesToHex(agentLocV1(vaultId, agent.id))}`;
        if (old !== `a/${bytesToHex(role.store.locOf(agent.id))}`) await backend.delete(old);
      }
      await backend.set(HEADER_KEY, encodeHeader(header, role.signer));
      const at = now();
      return written.filter((agent) => agent.status !== AGENT_REVOKED)
        .map((agent) => ({ token: role.store.tokenFor(agent), agent: agentInfo(agent, at) }));
    };
    const issued = await (backend.withLock ? backend.withLock(run) : run());
    return { migrated: true, agents: issued };
  } finally {
    wipe(role.rootKey, role.ownerKey, role.nameKey);
    role.signer.wipe();
    await audit?.close?.();
    await backend.close?.();
  }
}

/** A state left by an interrupted migration (signed by this owner), or none yet. */
async function existingState(backend: Backend, vaultId: Uint8Array, publicKey: Uint8Array): Promise<VaultState> {
  const bytes = await backend.get(STATE_KEY);
  return bytes ? decodeState(bytes, { vaultId, publicKey }) : { counter: 0, audit: undefined, entries: new Map() };
}

async function readAgents(
  backend: Backend, vaultId: Uint8Array, rootKey: Uint8Array, ownerKey: Uint8Array, publicKey: Uint8Array,
): Promise<ImportedAgent[]> {
  const byId = new Map<string, ImportedAgent>();
  for (const key of await backend.list('a/')) {
    const bytes = await backend.get(key);
    if (!bytes) continue;
    const v2 = isMagic(bytes, 'AVA2');
    const record = v2 ? decodeAgent(bytes, { vaultId, key, publicKey }) : decodeAgentV1(bytes);
    const id = utf8.decode(open(ownerKey, record.sealedId, ad.agentId(vaultId, key.slice(2)), WHAT_AGENT));
    const secret = agentKey(rootKey, id, record.generation);
    const policy = v2 ? openPolicy(vaultId, id, record as AgentRecord, secret, WHAT_AGENT) : openPolicyV1(vaultId, id, record, secret);
    wipe(secret);
    // Format 1 moves to its next generation; a format-2 record from an interrupted run stays.
    const generation = v2 ? record.generation : nextCounter(record.generation, `generation of agent "${id}"`);
    const known = byId.get(id);
    if (!known || known.generation < generation) byId.set(id, { id, generation, status: record.status, policy });
  }
  return [...byId.values()];
}

async function readSecrets(backend: Backend, vaultId: Uint8Array, ownerKey: Uint8Array, publicKey: Uint8Array): Promise<ImportedSecret[]> {
  const out: ImportedSecret[] = [];
  for (const key of await backend.list('s/')) {
    const bytes = await backend.get(key);
    if (!bytes) continue;
    const nameId = key.slice(2);
    const v2 = isMagic(bytes, 'AVS2');
    const record = v2 ? decodeSecret(bytes, { vaultId, key, publicKey }) : decodeSecretV1(bytes);
    const name = utf8.decode(open(ownerKey, record.sealedName, ad.name(vaultId, nameId), WHAT_SECRET));
    const dek = open(ownerKey, record.ownerWrap, ad.ownerWrap(vaultId, nameId, record.version), WHAT_SECRET);
    const valueAd = v2 ? ad.value(vaultId, nameId, record.prefix) : encodeParts('agent-vault/value/v1', [vaultId, nameId, record.prefix]);
    const value = open(dek, record.sealedValue, valueAd, WHAT_SECRET);
    wipe(dek);
    out.push({ name, nameId, version: record.version, createdAt: record.createdAt, updatedAt: record.updatedAt, value });
  }
  return out;
}

function isMagic(bytes: Uint8Array, magic: string): boolean {
  return equalBytes(bytes.subarray(0, 4), utf8.encode(magic));
}

// ---- format 1 (FORMAT.md, "Format 1") ----

interface V1Agent { generation: number; status: number; sealedId: Uint8Array; sealedPolicy: Uint8Array; prefix: Uint8Array }

function decodeAgentV1(bytes: Uint8Array): V1Agent {
  const reader = new ByteReader(bytes, WHAT_AGENT);
  if (!isMagic(bytes, 'AVA1')) throw malformed(WHAT_AGENT);
  reader.bytes(4);
  const generation = reader.u32();
  const status = reader.u8();
  const sealedId = reader.bytes(reader.u16());
  const prefix = bytes.subarray(0, reader.offset);
  const sealedPolicy = reader.rest();
  if (generation === 0 || status > AGENT_REVOKED || sealedPolicy.length < SEAL_OVERHEAD) throw malformed(WHAT_AGENT);
  return { generation, status, sealedId, sealedPolicy, prefix };
}

function openPolicyV1(vaultId: Uint8Array, id: string, record: V1Agent, key: Uint8Array): ImportedAgent['policy'] {
  const plain = open(key, record.sealedPolicy, encodeParts('agent-vault/policy/v1', [vaultId, id, record.generation, record.prefix]), WHAT_AGENT);
  return policyFields(JSON.parse(utf8.decode(plain)));
}


function policyFields(policy: { allow?: unknown; createdAt?: unknown; expiresAt?: unknown }): ImportedAgent['policy'] {
  const { allow, createdAt, expiresAt } = policy;
  if (!Array.isArray(allow) || !allow.every((p) => typeof p === 'string') || !Number.isSafeInteger(createdAt) ||
    !Number.isSafeInteger(expiresAt)) throw malformed(WHAT_AGENT);
  return { allow, createdAt: createdAt as number, expiresAt: Math.min(expiresAt as number, 8.64e15) };
}

interface V1Secret {
  version: number; createdAt: number; updatedAt: number; sealedName: Uint8Array; ownerWrap: Uint8Array;
  sealedValue: Uint8Array; prefix: Uint8Array;
}

function decodeSecretV1(bytes: Uint8Array): V1Secret {
  const reader = new ByteReader(bytes, WHAT_SECRET);
  if (!isMagic(bytes, 'AVS1')) throw malformed(WHAT_SECRET);
  reader.bytes(4);
  const version = reader.u32();
  const createdAt = reader.time();
  const updatedAt = reader.time();
  const sealedName = reader.bytes(reader.u16());
  const ownerWrap = reader.bytes(KEY_BYTES + SEAL_OVERHEAD);
  const count = reader.u16();
  reader.bytes(count * (LOC_BYTES + 4 + KEY_BYTES + SEAL_OVERHEAD)); // grants: re-made for format 2
  const valueLength = reader.u32();
  const prefix = bytes.subarray(0, reader.offset);
  const sealedValue = reader.rest();
  if (sealedValue.length !== valueLength || valueLength < SEAL_OVERHEAD || version === 0) throw malformed(WHAT_SECRET);
  return { version, createdAt, updatedAt, sealedName, ownerWrap, sealedValue, prefix };
}
