/**
 * How a Vault comes to be, before the object exists: which storage or server, which role, and in
 * what order they are found (src/_open.ts holds the steps: storage, token, header, unlock).
 * `Vault._create` and `Vault._open` build the object from the parts found here and write its
 * first audit record.
 */
import { type Backend, guardBackend } from './backend.ts';
import { agentToken, newHeader, readHeader, resolveStorage, storeNewHeader } from './_open.ts';
import { type AgentRole, agentRole, agentRoleOf } from './_agent-role.ts';
import type { OwnerRole } from './_owner-role.ts';
import type { AuditSink } from './audit/index.ts';
import { initCrypto } from './crypto.ts';
import { UsageError } from './errors.ts';
import type { CreateVaultOptions, OpenVaultOptions } from './options.ts';
import type { RemoteVault } from './server/_remote-open.ts';
import type { TokenFile } from './_files.ts';

export type Role = OwnerRole | AgentRole;

/** What a Vault is made of, and the audit record it writes first. */
export interface VaultParts {
  backend: Backend;
  vaultId: Uint8Array;
  role: Role;
  audit: AuditSink | undefined;
  now: () => number;
  /** The agent's token file, followed when it changes. */
  tokenFile?: TokenFile;
  /** Server mode (see the Vault constructor). */
  onServer?: boolean;
  /** The record the new Vault writes at once (none for an agent, nor for a server's create). */
  firstRecord?: 'vault.create' | 'vault.open';
}

/** The parts of a new vault, its header and first signed state already written. */
export async function createParts(options: CreateVaultOptions): Promise<VaultParts> {
  const now = options.now ?? Date.now;
  const server = serverUrl(options);
  if (server !== undefined) {
    const [{ createRemoteVault }] = await Promise.all([import('./server/_remote-open.ts'), initCrypto()]);
    const parts = await remoteParts(await createRemoteVault(server, options, now()), now, options.configDir);
    // The server recorded vault.create itself; the owner now writes the first signed state.
    if (parts.role.kind === 'owner') await parts.role.store.createState();
    return parts;
  }
  const [{ backend, audit }, { ownerRole }] = await Promise.all([resolveStorage(options), ownerRoles(), initCrypto()]);
  const { header, rootKey } = await newHeader(options, now());
  const role = await ownerRole({ backend, vaultId: header.vaultId, rootKey, now, audit, configDir: options.configDir });
  await storeNewHeader(backend, header, role.signer);
  await role.store.createState();
  return { backend, vaultId: header.vaultId, role, audit, now, firstRecord: 'vault.create' };
}

/** The parts of an existing vault, opened as its owner or as an agent. */
export async function openParts(options: OpenVaultOptions): Promise<VaultParts> {
  // libsodium compiles in the background while the storage is found and the header read.
  const cryptoReady = initCrypto();
  const owner = options.passphrase !== undefined || options.keyFile !== undefined;
  if (owner && options.token !== undefined) {
    throw new UsageError('openVault takes a token (agent) or a passphrase/key file (owner), not both.');
  }
  const now = options.now ?? Date.now;
  const server = serverUrl(options);
  if (server !== undefined) {
    const { token } = owner ? { token: undefined } : await agentToken(options.token);
    const [{ openRemoteVault }] = await Promise.all([import('./server/_remote-open.ts'), cryptoReady]);
    const parts = await remoteParts(await openRemoteVault(server, options, token), now, options.configDir);
    return token === undefined ? { ...parts, firstRecord: 'vault.open' } : parts;
  }
  // The token file is read while the storage module loads (a cold start waited on each in
  // turn). Nothing touches the vault directory before the token is read: a missing token is
  // still reported first and creates nothing.
  const storage = resolveStorage(options);
  storage.catch(() => {}); // awaited below, after the token
  const roles = owner ? ownerRoles() : undefined;
  const { token, file } = owner ? { token: undefined, file: undefined } : await agentToken(options.token);
  const { backend, audit } = await storage;
  const header = await readHeader(backend, options.dir, cryptoReady);
  if (token === undefined) {
    const { openOwnerRole } = await roles!;
    const role = await openOwnerRole(header, options, { backend, audit, now });
    return { backend, vaultId: header.vaultId, role, audit, now, firstRecord: 'vault.open' };
  }
  return { backend, vaultId: header.vaultId, role: agentRole(header, token, backend), audit, now, tokenFile: file };
}

/** A vault on an `agent-vault serve` server (src/server/): the core runs unchanged over its backend. */
async function remoteParts(remote: RemoteVault, now: () => number, configDir?: string | false): Promise<VaultParts> {
  const backend = guardBackend(remote.backend);
  let role: Role;
  if (remote.rootKey) {
    const { ownerRole } = await ownerRoles();
    role = await ownerRole({ backend, vaultId: remote.vaultId, rootKey: remote.rootKey, now, audit: remote.audit, configDir });
    // Loaded only here, as in createParts/openParts: a local vault never loads the server client.
    const { unlockOwnerAudit } = await import('./server/_remote-open.ts');
    unlockOwnerAudit(remote.audit, role);
  } else {
    role = agentRoleOf(remote.credentials!, backend);
  }
  return { backend, vaultId: remote.vaultId, role, audit: remote.audit, now, onServer: true };
}

/** The owner's role and store, loaded only when a vault is opened or created as its owner: agents never load them. */
function ownerRoles(): Promise<typeof import('./_owner-role.ts')> {
  return import('./_owner-role.ts');
}

/** The server to use: the option, else AGENT_VAULT_SERVER unless a backend or directory was named. */
function serverUrl(options: OpenVaultOptions): string | undefined {
  if (options.server !== undefined) return options.server;
  if (options.backend !== undefined || options.dir !== undefined) return undefined;
  return globalThis.process?.env?.AGENT_VAULT_SERVER || undefined;
}
