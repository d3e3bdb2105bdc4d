/**
 * Agent tokens: `avt_` + base64url of the version, vault id, generation, agent id, agent key and
 * a checksum (byte by byte in FORMAT.md). The prefix and the 4-byte checksum let secret scanners
 * recognise a leaked token; parsing is strict (alphabet, length, version, checksum) and every
 * failure is the same AccessDeniedError, so a malformed token never crashes anything or hints at why.
 */
import { AccessDeniedError } from './errors.ts';
import { constantTimeEqual, digest, fromBase64Url, KEY_BYTES, toBase64Url, utf8, wipe } from './crypto.ts';
import { checkAgentId } from './names.ts';

const TOKEN_PREFIX = 'avt_';
const TOKEN_VERSION = 1;
export const VAULT_ID_BYTES = 16;
const CHECKSUM_BYTES = 4;

export interface AgentCredentials {
  vaultId: Uint8Array;
  agentId: string;
  generation: number;
  /** The agent's key: the one buffer holding it in an agent process. */
  agentKey: Uint8Array;
}

export function encodeToken(credentials: AgentCredentials): string {
  const id = utf8.encode(credentials.agentId);
  const body = new Uint8Array(1 + VAULT_ID_BYTES + 4 + 1 + id.length + KEY_BYTES);
  let offset = 0;
  body[offset++] = TOKEN_VERSION;
  body.set(credentials.vaultId, offset);
  offset += VAULT_ID_BYTES;
  new DataView(body.buffer).setUint32(offset, credentials.generation);
  offset += 4;
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

const MIN_BODY = 1 + VAULT_ID_BYTES + 4 + 1 + 1 + KEY_BYTES;
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
    if (body.length < MIN_BODY || body.length > MAX_BODY || body[0] !== TOKEN_VERSION) throw badToken();
    const checksum = digest(body, 16).subarray(0, CHECKSUM_BYTES);
    if (!constantTimeEqual(checksum, full.subarray(body.length))) throw badToken();
    let offset = 1;
    const vaultId = body.slice(offset, offset + VAULT_ID_BYTES);
    offset += VAULT_ID_BYTES;
    const generation = new DataView(body.buffer, body.byteOffset).getUint32(offset);
    offset += 4;
    const idLength = body[offset++]!;
    if (body.length !== MIN_BODY - 1 + idLength) throw badToken();
    let agentId: string;
    try {
      agentId = checkAgentId(utf8.decode(body.subarray(offset, offset + idLength)));
    } catch {
      throw badToken();
    }
    offset += idLength;
    const agentKey = body.slice(offset, offset + KEY_BYTES);
    return { vaultId, agentId, generation, agentKey };
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
