/**
 * What client and server agree on: the signed messages (what exactly the owner's Ed25519 key
 * signs), the entry and state shapes, their JSON form, the keys a vault may hold, the agent's
 * server policy (`p/<loc>`) and the Authorization header. Pure: no node:* import, so the client
 * side runs wherever `fetch` does. Byte by byte in FORMAT.md ("Server mode").
 */
import { bytesToHex, hexToBytes, malformed } from '../_bytes.ts';
import { digest, encodeParts, fromBase64Url, SIGNATURE_BYTES, toBase64Url, utf8 } from '../crypto.ts';

/** One stored record as the server keeps it: the core's bytes (null: a signed deletion), its revision and signature. */
export interface Entry {
  key: string;
  value: Uint8Array | null;
  /** The vault revision that wrote it. */
  rev: number;
  sig: Uint8Array;
}

/** The vault's signed, monotonic state: every owner write moves it forward by one. */
export interface State {
  rev: number;
  sig: Uint8Array;
}

/** The keys a server vault holds: the header, secrets, agents and agents' server policies. */
export const KEY_PATTERN = /^(header|state|pending|[sap]\/[0-9a-f]{32})$/;

const EMPTY = new Uint8Array(0);

/** What the owner signs for an entry: vault, key, revision and a digest of the bytes (empty for a deletion). */
export function entryMessage(vaultId: Uint8Array, key: string, rev: number, value: Uint8Array | null): Uint8Array {
  return encodeParts('agent-vault/server/entry/v1', [vaultId, key, rev, value === null ? EMPTY : digest(value)]);
}

/** What the owner signs for the state. */
export function stateMessage(vaultId: Uint8Array, rev: number): Uint8Array {
  return encodeParts('agent-vault/server/state/v1', [vaultId, rev]);
}

/** A server vault's id is a hash of the owner's public key, so a token (which holds the id) pins the signer. */
export function vaultIdFor(publicKey: Uint8Array): Uint8Array {
  return digest(encodeParts('agent-vault/server/vault-id/v1', [publicKey]), 16);
}

// ---- the agent's server policy: what the server needs to enforce, signed like any entry ----

export interface ServerPolicy {
  generation: number;
  /** 0 active, 1 revoked (as in the agent record). */
  status: number;
  expiresAt: number;
  /** BLAKE2b-256 of the agent's server auth key. */
  verifier: Uint8Array;
  /** During a rotation's grace: the replaced generation, its verifier, and when it stops (its own expiry included). */
  previous?: { generation: number; until: number; verifier: Uint8Array };
}

export function encodePolicy(policy: ServerPolicy): Uint8Array {
  const previous = policy.previous;
  return utf8.encode(JSON.stringify({
    generation: policy.generation, status: policy.status, expiresAt: policy.expiresAt, verifier: bytesToHex(policy.verifier),
    ...(previous ? { previous: { generation: previous.generation, until: previous.until, verifier: bytesToHex(previous.verifier) } } : {}),
  }));
}

const isVerifier = (value: unknown) => typeof value === 'string' && /^[0-9a-f]{64}$/.test(value);

export function decodePolicy(bytes: Uint8Array): ServerPolicy {
  const what = 'An agent server policy';
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(utf8.decode(bytes));
  } catch {
    throw malformed(what);
  }
  const previous = json?.previous as Record<string, unknown> | undefined;
  const ok = json && typeof json === 'object' && Object.keys(json).length === (previous === undefined ? 4 : 5) &&
    Number.isSafeInteger(json.generation) && (json.generation as number) >= 1 &&
    (json.status === 0 || json.status === 1) && Number.isSafeInteger(json.expiresAt) && isVerifier(json.verifier) &&
    (previous === undefined || (
      typeof previous === 'object' && previous !== null && Object.keys(previous).length === 3 &&
      Number.isSafeInteger(previous.generation) && (previous.generation as number) >= 1 &&
      (previous.generation as number) < (json.generation as number) && Number.isSafeInteger(previous.until) &&
      isVerifier(previous.verifier)
    ));
  if (!ok) throw malformed(what);
  return {
    generation: json.generation as number, status: json.status as number, expiresAt: json.expiresAt as number,
    verifier: hexToBytes(json.verifier as string),
    ...(previous === undefined
      ? {}
      : { previous: { generation: previous.generation as number, until: previous.until as number, verifier: hexToBytes(previous.verifier as string) } }),
  };
}

// ---- JSON on the wire ----

export interface EntryJson {
  key: string;
  value: string | null;
  rev: number;
  sig: string;
}

export interface StateJson {
  rev: number;
  sig: string;
}

export function entryToJson(entry: Entry): EntryJson {
  return { key: entry.key, value: entry.value === null ? null : toBase64Url(entry.value), rev: entry.rev, sig: toBase64Url(entry.sig) };
}

/** Parse an entry from JSON; anything off-shape is an IntegrityError naming `what`. */
export function entryFromJson(json: unknown, what: string): Entry {
  const e = json as Partial<EntryJson> | null;
  if (!e || typeof e !== 'object' || typeof e.key !== 'string' || !KEY_PATTERN.test(e.key) ||
    !Number.isSafeInteger(e.rev) || (e.rev as number) < 1 || (e.value !== null && typeof e.value !== 'string')) {
    throw malformed(what);
  }
  return { key: e.key, value: e.value === null ? null : bytes(e.value, what), rev: e.rev as number, sig: signature(e.sig, what) };
}

export function stateToJson(state: State): StateJson {
  return { rev: state.rev, sig: toBase64Url(state.sig) };
}

export function stateFromJson(json: unknown, what: string): State {
  const s = json as Partial<StateJson> | null;
  if (!s || typeof s !== 'object' || !Number.isSafeInteger(s.rev) || (s.rev as number) < 0) throw malformed(what);
  return { rev: s.rev as number, sig: signature(s.sig, what) };
}

export function bytes(text: unknown, what: string): Uint8Array {
  if (typeof text !== 'string' || !/^[A-Za-z0-9_-]*$/.test(text)) throw malformed(what);
  try {
    return fromBase64Url(text);
  } catch {
    throw malformed(what);
  }
}

function signature(text: unknown, what: string): Uint8Array {
  const sig = bytes(text, what);
  if (sig.length !== SIGNATURE_BYTES) throw malformed(what);
  return sig;
}

// ---- who is asking ----

export type Principal =
  | { kind: 'owner'; authKey: Uint8Array }
  | { kind: 'agent'; loc: string; generation: number; authKey: Uint8Array };

const SCHEME = 'AgentVault';

export function authorization(principal: Principal): string {
  return principal.kind === 'owner'
    ? `${SCHEME} owner ${toBase64Url(principal.authKey)}`
    : `${SCHEME} agent ${principal.loc} ${principal.generation} ${toBase64Url(principal.authKey)}`;
}

/** The principal an Authorization header names, or undefined when it is not one of ours. */
export function parseAuthorization(header: string | undefined): Principal | undefined {
  if (!header || header.length > 256) return undefined;
  const parts = header.split(' ');
  if (parts[0] !== SCHEME) return undefined;
  try {
    if (parts[1] === 'owner' && parts.length === 3) return { kind: 'owner', authKey: authKeyOf(parts[2]!) };
    if (parts[1] === 'agent' && parts.length === 5 && /^[0-9a-f]{32}$/.test(parts[2]!) && /^[1-9][0-9]{0,9}$/.test(parts[3]!)) {
      return { kind: 'agent', loc: parts[2]!, generation: Number(parts[3]), authKey: authKeyOf(parts[4]!) };
    }
  } catch {
    return undefined;
  }
  return undefined;
}

function authKeyOf(text: string): Uint8Array {
  const key = bytes(text, 'An auth key');
  if (key.length !== 32) throw new Error('length');
  return key;
}

/** The hash a server keeps in place of an auth key. */
export function verifierOf(authKey: Uint8Array): Uint8Array {
  return digest(encodeParts('agent-vault/server/verifier/v1', [authKey]));
}
