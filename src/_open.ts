/**
 * How a vault is reached: its storage (the default file backend and audit log, loaded only when
 * used, so the core imports no node:* module), the agent token from the environment, and the
 * owner's unlock (passphrase or key file) for a new or an existing vault.
 */
import { type Backend, guardBackend } from './backend.ts';
import {
  decodeHeader, encodeHeader, type Header, HEADER_KEY, openRootKey, sealRootKey, type StoredHeader, type Unlock, verifyHeader,
} from './_header.ts';
import type { Signer } from './_signed.ts';
import type { AuditSink } from './audit/index.ts';
import {
  calibratePassphraseParams, KEY_BYTES, PASSPHRASE_BOUNDS, passphraseKey, passphraseParamsInBounds, randomBytes, SALT_BYTES, utf8, wipe,
} from './crypto.ts';
import { AccessDeniedError, UsageError, VaultExistsError, VaultNotFoundError } from './errors.ts';
import { VAULT_ID_BYTES } from './token.ts';
import type { CreateVaultOptions, OwnerUnlock, VaultOptions } from './options.ts';
import type { TokenFile } from './_files.ts';
import { warnOfProviderKeys } from './_env-keys.ts';

/** A new vault's header and root key, sealed under a key from the chosen unlock method. */
export async function newHeader(
  options: CreateVaultOptions, createdAt: number, server?: ServerHeaderHooks,
): Promise<{ header: Header; rootKey: Uint8Array }> {
  const rootKey = randomBytes(KEY_BYTES);
  const vaultId = server ? server.vaultIdFor(rootKey) : randomBytes(VAULT_ID_BYTES);
  const header = await sealHeader({ vaultId, createdAt }, rootKey, options, server?.unlockKey);
  return { header, rootKey };
}

/**
 * A header that seals `rootKey` under a key from the chosen unlock method (exactly one of
 * passphrase or key file): for a new vault, and for `passwd`, which re-seals the same root key.
 * `onUnlockKey` sees the unlock key before it is wiped (a server vault derives its auth key).
 */
export async function sealHeader(
  identity: Pick<Header, 'vaultId' | 'createdAt'>, rootKey: Uint8Array, options: CreateVaultOptions,
  onUnlockKey?: (unlockKey: Uint8Array) => void,
): Promise<Header> {
  let unlock: Unlock;
  let unlockKey: Uint8Array;
  if (options.passphrase !== undefined && options.keyFile === undefined) {
    const params = options.passphraseParams ?? await calibratePassphraseParams();
    if (!passphraseParamsInBounds(params)) {
      throw new UsageError(`passphraseParams out of bounds: ${PASSPHRASE_BOUNDS} (memlimit in bytes).`);
    }
    unlock = { method: 'passphrase', salt: randomBytes(SALT_BYTES), ...params };
    const bytes = passphraseBytes(options.passphrase);
    unlockKey = await passphraseKey(bytes, unlock.salt, params);
    wipe(bytes);
  } else if (options.keyFile !== undefined && options.passphrase === undefined) {
    const { createKeyFile, readKeyFile } = await import('./_files.ts');
    unlock = { method: 'key-file' };
    unlockKey = await createKeyFile(options.keyFile).catch(async (error) => {
      // An existing key file is fine: several vaults may share one CI key.
      if (error instanceof UsageError && /already exists/.test(error.message)) return readKeyFile(options.keyFile!);
      throw error;
    });
  } else {
    throw new UsageError('Give exactly one of { passphrase } or { keyFile }.');
  }
  const fields = { ...identity, unlock };
  const header: Header = { ...fields, sealedRootKey: sealRootKey(fields, unlockKey, rootKey) };
  onUnlockKey?.(unlockKey);
  wipe(unlockKey);
  return header;
}

/**
 * What a server vault adds to a new header (src/server/): its id comes from the root key (a hash
 * of the owner's public key, so tokens pin the signer), and the server auth key is derived from
 * the unlock key before it is wiped.
 */
export interface ServerHeaderHooks {
  vaultIdFor(rootKey: Uint8Array): Uint8Array;
  unlockKey(unlockKey: Uint8Array): void;
}

/** Store a new vault's header, refusing to replace one already there (atomically where the backend can). */
export async function storeNewHeader(backend: Backend, header: Header, signer: Signer): Promise<void> {
  const encoded = encodeHeader(header, signer);
  const created = backend.compareAndSwap
    ? await backend.compareAndSwap(HEADER_KEY, undefined, encoded)
    : (await backend.get(HEADER_KEY)) === undefined && (await backend.set(HEADER_KEY, encoded), true);
  if (!created) {
    throw new VaultExistsError(
      `A vault already exists in this ${backend.name} backend. Open it with openVault(), or choose another directory.`,
    );
  }
}

/** The vault's header, decoded once libsodium is `ready`; VaultNotFoundError when there is none. */
export async function readHeader(backend: Backend, dir: string | undefined, ready: Promise<void>): Promise<StoredHeader> {
  const bytes = await backend.get(HEADER_KEY);
  await ready;
  if (!bytes) {
    throw new VaultNotFoundError(
      `No vault found in this ${backend.name} backend${dir ? ` (${dir})` : ''}` +
        `${searchedPaths.has(backend) ? ` (looked at ${searchedPaths.get(backend)!.join(', ')})` : ''}. Create one with ` +
        '`npx agent-vault init`, or point AGENT_VAULT_DIR at the vault directory.',
    );
  }
  return decodeHeader(bytes);
}

function passphraseBytes(passphrase: string | Uint8Array): Uint8Array {
  const bytes = typeof passphrase === 'string' ? utf8.encode(passphrase) : Uint8Array.from(passphrase);
  if (bytes.length === 0) throw new UsageError('The passphrase is empty. Choose a long passphrase.');
  return bytes;
}

/** The key the unlock method yields (Argon2id of the passphrase, or the key file's key); the caller wipes it. */
export async function unlockKeyFor(unlock: Unlock, options: OwnerUnlock): Promise<Uint8Array> {
  if (unlock.method === 'passphrase') {
    if (options.passphrase === undefined) {
      throw new UsageError('This vault is unlocked with a passphrase; pass { passphrase }.');
    }
    const bytes = passphraseBytes(options.passphrase);
    const key = await passphraseKey(bytes, unlock.salt, unlock);
    wipe(bytes);
    return key;
  }
  if (options.keyFile === undefined) throw new UsageError('This vault is unlocked with a key file; pass { keyFile }.');
  const { readKeyFile } = await import('./_files.ts');
  return readKeyFile(options.keyFile);
}

export async function unlockRootKey(header: Header, options: OwnerUnlock): Promise<Uint8Array> {
  const unlockKey = await unlockKeyFor(header.unlock, options);
  try {
    return openRootKey(header, unlockKey);
  } catch {
    throw wrongUnlock(header.unlock);
  } finally {
    wipe(unlockKey);
  }
}

export function wrongUnlock(unlock: Unlock): AccessDeniedError {
  return new AccessDeniedError(
    'wrong-unlock',
    `Wrong ${unlock.method === 'passphrase' ? 'passphrase' : 'key file'} for this vault (or its header was modified).`,
  );
}

/**
 * The agent token: the explicit option, else AGENT_VAULT_TOKEN_FILE (returned too, so the vault
 * follows it when it changes), else AGENT_VAULT_TOKEN.
 */
export async function agentToken(explicit: string | undefined): Promise<{ token: string; file?: TokenFile }> {
  if (explicit !== undefined) return { token: explicit };
  const env = globalThis.process?.env ?? {};
  const fromEnv = env.AGENT_VAULT_TOKEN;
  // Deleted even when the file wins, so no child process inherits a token.
  delete env.AGENT_VAULT_TOKEN;
  warnOfProviderKeys(env);
  if (fromEnv) warnTokenInEnvironment();
  if (env.AGENT_VAULT_TOKEN_FILE) {
    const { TokenFile } = await import('./_files.ts');
    const { file, token } = TokenFile.open(env.AGENT_VAULT_TOKEN_FILE);
    return { token, file };
  }
  if (fromEnv) return { token: fromEnv };
  throw new UsageError(
    'No credentials: pass { token } (agent) or { passphrase } / { keyFile } (owner), or set ' +
      'AGENT_VAULT_TOKEN_FILE or AGENT_VAULT_TOKEN to the agent token.',
  );
}

let warnedTokenInEnvironment = false;

/**
 * Deleting AGENT_VAULT_TOKEN from process.env does not remove it from the environment block the
 * kernel keeps for the process (/proc/<pid>/environ, readable by any process of the same user)
 * for its whole life: said once per process, as a warning with a code that can be filtered.
 */
function warnTokenInEnvironment(): void {
  if (warnedTokenInEnvironment) return;
  warnedTokenInEnvironment = true;
  const process = globalThis.process as Partial<NodeJS.Process> | undefined;
  process?.emitWarning?.(
    'agent-vault read the agent token from AGENT_VAULT_TOKEN. It stays readable in /proc/<pid>/environ for the life ' +
      'of this process (by any process of the same user), even though agent-vault removed it from process.env. ' +
      'Put the token in a file (mode 0600) and set AGENT_VAULT_TOKEN_FILE to its path instead.',
    { code: 'AGENT_VAULT_TOKEN_IN_ENVIRONMENT' },
  );
}

export async function resolveStorage(options: VaultOptions): Promise<{ backend: Backend; audit: AuditSink | undefined }> {
  if (options.backend) {
    const backend = guardBackend(options.backend);
    return { backend, audit: chooseAudit(options.audit, backend) };
  }
  const { fileBackend, discoverVaultDir } = await import('./backends/file.ts');
  const found = options.dir === undefined ? discoverVaultDir() : { dir: options.dir, searched: [] };
  const backend = guardBackend(fileBackend({ dir: found.dir }));
  if (found.searched.length > 0) searchedPaths.set(backend, found.searched);
  // A directory of its own lets the vault be mounted read-only for agents, who only append there.
  const auditDir = options.auditDir ?? (globalThis.process?.env?.AGENT_VAULT_AUDIT_DIR || undefined);
  if (options.audit === undefined && auditDir !== undefined) {
    const { fileAuditSink } = await import('./audit/file.ts');
    return { backend, audit: fileAuditSink({ dir: auditDir }) };
  }
  return { backend, audit: chooseAudit(options.audit, backend) };
}

/**
 * The sink a vault records to: the caller's, else the backend's own; `false` declines. A vault
 * with neither is refused here, before it can release anything: auditing is never off by accident.
 */
function chooseAudit(audit: AuditSink | false | undefined, backend: Backend): AuditSink | undefined {
  if (audit === false) return undefined;
  if (audit !== undefined) return audit;
  const own = backend.auditSink?.();
  if (own) return own;
  throw new UsageError(
    `The ${backend.name} backend brings no audit sink, so nothing this vault released would be recorded. ` +
      'Pass { audit: sink } (fileAuditSink from agent-vault/audit-file, or your own), or { audit: false } to ' +
      'decline auditing explicitly.',
  );
}

/** The directories discovery looked at for a backend it chose, for "no vault found". */
const searchedPaths = new WeakMap<Backend, string[]>();

/**
 * Re-seal the root key under a new unlock method (`passwd`), keeping the vault's id and creation
 * time, so every token, grant and secret stays valid, and sign the new header as every header is
 * (format 2). The header replaced must be the one this owner signed: a planted one is refused,
 * not re-signed. Compare-and-swap where the backend can: a concurrent change of the header fails
 * this one rather than being lost.
 */
export async function replaceUnlock(backend: Backend, rootKey: Uint8Array, signer: Signer, options: CreateVaultOptions): Promise<void> {
  const current = await backend.get(HEADER_KEY);
  if (!current) throw new VaultNotFoundError(`The vault header in this ${backend.name} backend is gone; nothing was changed.`);
  const header = decodeHeader(current);
  if (header.format !== 2) throw new UsageError('This vault is format 1; upgrade it first: agent-vault migrate.');
  verifyHeader(header, signer.publicKey);
  const encoded = encodeHeader(await sealHeader({ vaultId: header.vaultId, createdAt: header.createdAt }, rootKey, options), signer);
  const swapped = backend.compareAndSwap
    ? await backend.compareAndSwap(HEADER_KEY, current, encoded)
    : (await backend.set(HEADER_KEY, encoded), true);
  if (!swapped) throw new UsageError('The vault header changed while this ran (another passwd?); nothing was changed. Run it again.');
}
