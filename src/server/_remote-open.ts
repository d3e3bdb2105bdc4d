/**
 * Creating and opening a vault that lives on an `agent-vault serve` server, for both roles.
 *
 * - The owner derives its server auth key from the unlock key (so it can log in before it has
 *   the header, and the server never sees anything that opens the header), then the root key
 *   from the header, then the Ed25519 signing key, which must be the one the server pins.
 * - An agent derives its auth key from its agent key and checks the server's owner key against
 *   the vault id in its token (the id is that key's hash) before trusting any answer.
 */
import { bytesToHex, equalBytes } from '../_bytes.ts';
import { decodeHeader, decodeUnlock, openRootKey, type StoredHeader, verifyHeader } from '../_header.ts';
import { nameId, serverAuditKey, serverAuthKey, serverSigningSeed } from '../_keys.ts';
import { newHeader, unlockKeyFor, wrongUnlock } from '../_open.ts';
import { ownerKeys } from '../_owner-records.ts';
import type { OwnerRole } from '../_owner-role.ts';
import { ownerSigner } from '../_signed.ts';
import type { AuditEvent } from '../audit/index.ts';
import { encodeHeader } from '../_header.ts';
import { sign, signingKeyPair, toBase64Url, wipe } from '../crypto.ts';
import { AccessDeniedError, IntegrityError } from '../errors.ts';
import type { CreateVaultOptions, OpenVaultOptions } from '../options.ts';
import { type AgentCredentials, parseToken } from '../token.ts';
import { ServerClient } from './_client.ts';
import { RemoteAuditSink } from './_remote-audit.ts';
import { RemoteBackend } from './_remote-backend.ts';
import { TrustedView } from './_trust.ts';
import { bytes, entryMessage, entryToJson, stateMessage, stateToJson, vaultIdFor, verifierOf } from './_wire.ts';

export interface RemoteVault {
  backend: RemoteBackend;
  audit: RemoteAuditSink;
  vaultId: Uint8Array;
  /** The owner's root key (owner), or the agent's credentials (agent). */
  rootKey?: Uint8Array;
  credentials?: AgentCredentials;
}

interface VaultFace {
  vaultId: Uint8Array;
  publicKey: Uint8Array;
  unlock: unknown;
}

async function face(client: ServerClient): Promise<VaultFace> {
  const json = await client.call<{ vaultId?: unknown; ownerPublicKey?: unknown; unlock?: unknown }>('GET', '/v1/vault');
  const publicKey = bytes(json.ownerPublicKey, 'The server\'s owner key');
  const vaultId = vaultIdFor(publicKey);
  if (json.vaultId !== bytesToHex(vaultId)) throw new IntegrityError('The vault server names a vault id that is not its owner key\'s hash.');
  return { vaultId, publicKey, unlock: json.unlock };
}

export async function createRemoteVault(server: string, options: CreateVaultOptions, now: number): Promise<RemoteVault> {
  const client = new ServerClient(server);
  let ownerVerifier: Uint8Array | undefined;
  const { header, rootKey } = await newHeader(options, now, {
    vaultIdFor: (root) => {
      const seed = serverSigningSeed(root);
      const pair = signingKeyPair(seed);
      wipe(seed, pair.secretKey);
      return vaultIdFor(pair.publicKey);
    },
    unlockKey: (unlockKey) => {
      const authKey = serverAuthKey(unlockKey);
      ownerVerifier = verifierOf(authKey);
      wipe(authKey);
    },
  });
  const { publicKey, secretKey } = keyPair(rootKey);
  const vaultId = header.vaultId;
  const recordSigner = ownerSigner(rootKey);
  const headerBytes = encodeHeader(header, recordSigner);
  recordSigner.wipe();
  const auditKey = serverAuditKey(rootKey);
  try {
    await client.call('POST', '/v1/vault', {
      ownerPublicKey: toBase64Url(publicKey),
      ownerVerifier: toBase64Url(ownerVerifier!),
      auditKey: toBase64Url(auditKey),
      header: entryToJson({ key: 'header', value: headerBytes, rev: 1, sig: sign(secretKey, entryMessage(vaultId, 'header', 1, headerBytes)) }),
      state: stateToJson({ rev: 1, sig: sign(secretKey, stateMessage(vaultId, 1)) }),
    });
  } finally {
    wipe(secretKey, auditKey);
  }
  // Log in as the owner now: the unlock key is needed once more, as on every later open.
  return openOwner(client, { vaultId, publicKey, unlock: JSON.parse(new TextDecoder().decode(headerBytes)).unlock }, options, rootKey);
}

export async function openRemoteVault(server: string, options: OpenVaultOptions, token: string | undefined): Promise<RemoteVault> {
  const client = new ServerClient(server);
  const vault = await face(client);
  if (token === undefined) return openOwner(client, vault, options);
  const credentials = parseToken(token);
  if (!equalBytes(credentials.vaultId, vault.vaultId)) {
    wipe(credentials.agentKey);
    throw new AccessDeniedError('wrong-vault', 'This agent token belongs to another vault than the one on this server. Check AGENT_VAULT_SERVER.');
  }
  const loc = bytesToHex(credentials.loc);
  const authKey = serverAuthKey(credentials.agentKey);
  client.authenticate({ kind: 'agent', loc, generation: credentials.generation, authKey });
  const backend = new RemoteBackend(client, new TrustedView(vault.vaultId, vault.publicKey), `a/${loc}`);
  return { backend, audit: new RemoteAuditSink(client, bytesToHex(vault.vaultId)), vaultId: vault.vaultId, credentials };
}

/** Log in as the owner (auth key from the unlock key), open the header, and arm signing. */
async function openOwner(client: ServerClient, vault: VaultFace, options: OpenVaultOptions, known?: Uint8Array): Promise<RemoteVault> {
  const unlock = decodeUnlock(vault.unlock);
  const unlockKey = await unlockKeyFor(unlock, options);
  // The owner remembers the newest state across runs (node only: a browser owner would keep it elsewhere).
  const { stateMemory } = await import('./_state-file.ts');
  const memory = await stateMemory(bytesToHex(vault.vaultId), options.serverStateDir);
  const view = new TrustedView(vault.vaultId, vault.publicKey, memory.floor);
  const backend = new RemoteBackend(client, view, undefined, (rev) => memory.remember(rev));
  let rootKey = known;
  let header: StoredHeader;
  try {
    client.authenticate({ kind: 'owner', authKey: serverAuthKey(unlockKey) });
    const headerBytes = await backend.get('header').catch((error) => {
      throw error instanceof AccessDeniedError && error.reason === 'owner-only' ? wrongUnlock(unlock) : error;
    });
    if (!headerBytes) throw new IntegrityError('The vault server holds no header for this vault: it was tampered with.');
    header = decodeHeader(headerBytes);
    rootKey ??= (() => {
      try {
        return openRootKey(header, unlockKey);
      } catch {
        throw wrongUnlock(unlock);
      }
    })();
  } finally {
    wipe(unlockKey);
  }
  const { publicKey, secretKey } = keyPair(rootKey);
  if (!equalBytes(publicKey, vault.publicKey)) {
    wipe(secretKey);
    throw new IntegrityError('The vault server pins another owner key than this vault\'s root key gives: it is not this vault\'s server.');
  }
  const keys = ownerKeys(rootKey);
  try {
    // The header must be the one this root key signed (format 2), as for a local vault.
    if (header.format !== 2) throw new IntegrityError('The vault server holds a format-1 header: it was replaced. Restore it from a backup.');
    verifyHeader(header, keys.signer.publicKey);
  } catch (error) {
    wipe(secretKey, keys.ownerKey);
    throw error;
  } finally {
    wipe(keys.nameKey);
    keys.signer.wipe();
  }
  backend.unlock({ vaultId: vault.vaultId, secretKey, rootKey, ownerKey: keys.ownerKey, recordKey: keys.signer.publicKey });
  const audit = new RemoteAuditSink(client, bytesToHex(vault.vaultId));
  return { backend, audit, vaultId: vault.vaultId, rootKey };
}

/**
 * Arm the owner's audit sink once its role exists: events name secrets by name id and agents by
 * their keyed location, and the owner's listing maps them back to names.
 */
export function unlockOwnerAudit(audit: RemoteAuditSink, role: OwnerRole): void {
  audit.unlock({
    auditKey: serverAuditKey(role.rootKey),
    ref: (event: AuditEvent) => {
      if (event.name === undefined) return undefined;
      if (event.action.startsWith('secret.')) return nameId(role.nameKey, event.name);
      if (event.action.startsWith('agent.')) return bytesToHex(role.store.locOf(event.name));
      return undefined;
    },
    names: async () => {
      const names = new Map<string, string>();
      for (const secret of await role.store.listSecrets()) names.set(nameId(role.nameKey, secret.name), secret.name);
      for (const agent of await role.store.listAgents()) names.set(bytesToHex(agent.loc), agent.id);
      return names;
    },
  });
}

function keyPair(rootKey: Uint8Array): { publicKey: Uint8Array; secretKey: Uint8Array } {
  const seed = serverSigningSeed(rootKey);
  try {
    return signingKeyPair(seed);
  } finally {
    wipe(seed);
  }
}

