/**
 * How a vault is reached: its storage (the default file backend and audit log, loaded only when
 * used, so the core imports no node:* module), the agent token from the environment, and the
 * owner's unlock (passphrase or key file) for a new or an existing vault.
 */
import { type Backend, guardBackend } from './backend.ts';
import {
  decodeHeader, encodeHeader, type Header, HEADER_KEY, openRootKey, sealRootKey, type StoredHeader, type Unlock,
} from './_header.ts';
import type { Signer } from './_signed.ts';
import type { AuditSink } from './audit/index.ts';
import {
  calibratePassphraseParams, KEY_BYTES, passphraseKey, passphraseParamsInBounds, randomBytes, SALT_BYTES, utf8, wipe,
} from './crypto.ts';
import { AccessDeniedError, UsageError, VaultExistsError, VaultNotFoundError } from './errors.ts';
import { VAULT_ID_BYTES } from './token.ts';
import type { CreateVaultOptions, OwnerUnlock, VaultOptions } from './options.ts';

/** A new vault's header and root key, sealed under a key from the chosen unlock method. */
export async function newHeader(options: CreateVaultOptions, createdAt: number): Promise<{ header: Header; rootKey: Uint8Array }> {
  const vaultId = randomBytes(VAULT_ID_BYTES);
  const rootKey = randomBytes(KEY_BYTES);
  let unlock: Unlock;
  let unlockKey: Uint8Array;
  if (options.passphrase !== undefined && options.keyFile === undefined) {
    const params = options.passphraseParams ?? calibratePassphraseParams();
    if (!passphraseParamsInBounds(params)) {
      throw new UsageError('passphraseParams out of bounds: opslimit 1..20, memlimit 8 MiB..1 GiB (bytes).');
    }
    unlock = { method: 'passphrase', salt: randomBytes(SALT_BYTES), ...params };
    const bytes = passphraseBytes(options.passphrase);
    unlockKey = passphraseKey(bytes, unlock.salt, params);
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
    throw new UsageError('createVault needs exactly one of { passphrase } or { keyFile }.');
  }
  const fields = { vaultId, createdAt, unlock };
  const header: Header = { ...fields, sealedRootKey: sealRootKey(fields, unlockKey, rootKey) };
  wipe(unlockKey);
  return { header, rootKey };
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
      `No vault found in this ${backend.name} backend${dir ? ` (${dir})` : ''}. Create one with ` +
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

export async function unlockRootKey(header: Header, options: OwnerUnlock): Promise<Uint8Array> {
  let unlockKey: Uint8Array;
  if (header.unlock.method === 'passphrase') {
    if (options.passphrase === undefined) {
      throw new UsageError('This vault is unlocked with a passphrase; pass { passphrase }.');
    }
    const bytes = passphraseBytes(options.passphrase);
    unlockKey = passphraseKey(bytes, header.unlock.salt, header.unlock);
    wipe(bytes);
  } else {
    if (options.keyFile === undefined) throw new UsageError('This vault is unlocked with a key file; pass { keyFile }.');
    const { readKeyFile } = await import('./_files.ts');
    unlockKey = await readKeyFile(options.keyFile);
  }
  try {
    return openRootKey(header, unlockKey);
  } catch {
    throw new AccessDeniedError(
      'wrong-unlock',
      `Wrong ${header.unlock.method === 'passphrase' ? 'passphrase' : 'key file'} for this vault (or its header was modified).`,
    );
  } finally {
    wipe(unlockKey);
  }
}

/** The agent token: the explicit option, else AGENT_VAULT_TOKEN_FILE, else AGENT_VAULT_TOKEN. */
export async function agentToken(explicit: string | undefined): Promise<string> {
  if (explicit !== undefined) return explicit;
  const env = globalThis.process?.env ?? {};
  const fromEnv = env.AGENT_VAULT_TOKEN;
  // Deleted even when the file wins, so no child process inherits a token.
  delete env.AGENT_VAULT_TOKEN;
  if (env.AGENT_VAULT_TOKEN_FILE) {
    const { readTokenFile } = await import('./_files.ts');
    return readTokenFile(env.AGENT_VAULT_TOKEN_FILE);
  }
  if (fromEnv) return fromEnv;
  throw new UsageError(
    'No credentials: pass { token } (agent) or { passphrase } / { keyFile } (owner), or set ' +
      'AGENT_VAULT_TOKEN_FILE or AGENT_VAULT_TOKEN to the agent token.',
  );
}

export async function resolveStorage(options: VaultOptions): Promise<{ backend: Backend; audit: AuditSink | undefined }> {
  if (options.backend) return { backend: guardBackend(options.backend), audit: options.audit || undefined };
  const { fileBackend, defaultVaultDir } = await import('./backends/file.ts');
  const dir = options.dir ?? defaultVaultDir();
  const backend = guardBackend(fileBackend({ dir }));
  if (options.audit !== undefined) return { backend, audit: options.audit || undefined };
  const { fileAuditSink } = await import('./audit/file.ts');
  return { backend, audit: fileAuditSink({ dir }) };
}

