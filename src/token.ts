/**
 * Agent tokens (format 2): `avt_` + base64url of the version, vault id, generation, the agent's
 * record locator, the owner's public signing key, the agent id, the agent key and a checksum
 * (byte by byte in FORMAT.md). The owner's key in the token is what pins every signature the
 * agent checks; the locator is keyed by the owner, so the agent cannot compute anyone else's.
 * The prefix and the 4-byte checksum let secret scanners recognise a leaked token; parsing is
 * strict (alphabet, length, version, checksum) and every failure is the same AccessDeniedError,
 * so a malformed token never crashes anything or hints at why. A format-1 token (from before
 * records were signed) is recognised and refused with what to do.
 */
import { AccessDeniedError } from './errors.ts';
import { LOC_BYTES } from './_keys.ts';
import { constantTimeEqual, digest, fromBase64Url, KEY_BYTES, SIGN_PUBLIC_BYTES, toBase64Url, utf8, wipe } from './crypto.ts';
import { checkAgentId } from './names.ts';

const TOKEN_PREFIX = 'avt_';
const TOKEN_VERSION_V1 = 1;
const TOKEN_VERSION = 2;
export const VAULT_ID_BYTES = 16;
const CHECKSUM_BYTES = 4;

export interface AgentCredentials {
  vaultId: Uint8Array;
  agentId: string;
  generation: number;
  /** Where the agent's record lives (`a/<hex>`): keyed by the owner, so it comes with the token. */
  loc: Uint8Array;
  /** The owner's Ed25519 public key: every record this agent trusts must verify under it. */
  ownerKey: Uint8Array;
  /** The agent's key: the one buffer holding it in an agent process. */
  agentKey: Uint8Array;
}

/** Everything in front of the agent id: version, vault id, generation, locator, owner key, id length. */
const FIXED = 1 + VAULT_ID_BYTES + 4 + LOC_BYTES + SIGN_PUBLIC_BYTES + 1;

export function encodeToken(credentials: AgentCredentials): string {
  const id = utf8.encode(credentials.agentId);
  const body = new Uint8Array(FIXED + id.length + KEY_BYTES);
  let offset = 0;
  body[offset++] = TOKEN_VERSION;
  body.set(credentials.vaultId, offset);
  offset += VAULT_ID_BYTES;
  new DataView(body.buffer).setUint32(offset, credentials.generation);
  offset += 4;
  body.set(credentials.loc, offset);
  offset += LOC_BYTES;
  body.set(credentials.ownerKey, offset);
  offset += SIGN_PUBLIC_BYTES;
  body[offset++] = id.length;
  body.set(id, offset);
  offset += id.length;
  body.set(credentials.agentKey, offset);
  const full = new Uint8Array(body.length + CHECKSUM_BYTES);
  full.set(body);
  full.set(digest(body, 16).subarray(0, CHECKSUM_BYTES), body.length);
  const token = TOKEN_PREFIX + toBase64Url(full);
  wipe(body, full);
  return token;
}

const MIN_BODY = FIXED + 1 + KEY_BYTES;
const MAX_BODY = MIN_BODY - 1 + 64;

export function parseToken(token: unknown): AgentCredentials {
  if (typeof token !== 'string') throw badToken();
  const text = token.trim();
  const maxChars = TOKEN_PREFIX.length + Math.ceil(((MAX_BODY + CHECKSUM_BYTES) * 4) / 3);
  if (!text.startsWith(TOKEN_PREFIX) || text.length > maxChars || !/^[A-Za-z0-9_-]+$/.test(text.slice(4))) {
    throw badToken();
  }
  let full: Uint8Array;
  try {
    full = fromBase64Url(text.slice(TOKEN_PREFIX.length));
  } catch {
    throw badToken();
  }
  try {
    const body = full.subarray(0, full.length - CHECKSUM_BYTES);
    const checksum = digest(body, 16).subarray(0, CHECKSUM_BYTES);
    if (body.length === 0 || !constantTimeEqual(checksum, full.subarray(body.length))) throw badToken();
    if (body[0] === TOKEN_VERSION_V1) throw oldToken();
    if (body.length < MIN_BODY || body.length > MAX_BODY || body[0] !== TOKEN_VERSION) throw badToken();
    let offset = 1;
    const vaultId = body.slice(offset, offset + VAULT_ID_BYTES);
    offset += VAULT_ID_BYTES;
    const generation = new DataView(body.buffer, body.byteOffset).getUint32(offset);
    offset += 4;
    const loc = body.slice(offset, offset + LOC_BYTES);
    offset += LOC_BYTES;
    const ownerKey = body.slice(offset, offset + SIGN_PUBLIC_BYTES);
    offset += SIGN_PUBLIC_BYTES;
    const idLength = body[offset++]!;
    if (body.length !== MIN_BODY - 1 + idLength || generation === 0) throw badToken();
    let agentId: string;
    try {
      agentId = checkAgentId(utf8.decode(body.subarray(offset, offset + idLength)));
    } catch {
      throw badToken();
    }
    offset += idLength;
    const agentKey = body.slice(offset, offset + KEY_BYTES);
    return { vaultId, agentId, generation, loc, ownerKey, agentKey };
  } finally {
    wipe(full);
  }
}

function badToken(): AccessDeniedError {
  return new AccessDeniedError(
    'bad-token',
    'The agent token is malformed (wrong prefix, length, alphabet or checksum). Copy it again ' +
      'exactly as `agent-vault agent create` printed it, or ask the owner to rotate it.',
  );
}

function oldToken(): AccessDeniedError {
  return new AccessDeniedError(
    'old-token',
    'This agent token is format 1, from before vault records were owner-signed, and no longer opens ' +
      'anything. Ask the owner to upgrade the vault (`agent-vault migrate`, which prints new tokens) or ' +
      'to rotate this agent: agent-vault agent rotate <agent-id>.',
  );
}
