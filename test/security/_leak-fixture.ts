/**
 * The leak canary's secrets, fresh per run so that no stale file or log can match, and the
 * vaults that hold them.
 */
import { randomBytes } from 'node:crypto';
import { type AuditSink, type Backend, createVault, openVault, type Vault } from '../../src/index.ts';
import { memoryBackend } from '../../src/backends/memory.ts';
import { FAST_KDF } from '../_fixtures/index.ts';

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

/** The secret value: shaped like a provider key (printable ASCII, a valid header value). */
export const VALUE = `sk-leakcanary-${hex(24)}`;
/** The secret's name: may appear in errors, audit records and list(), never in storage. */
export const NAME = `leak-canary-name-${hex(8)}`;
/** An allow pattern that matches NAME (storage must not hold it either). */
export const PATTERN = `${NAME.slice(0, -4)}*`;
/** The agent's id: in tokens, audit records and listAgents(), never in storage. */
export const AGENT_ID = `leak-agent-${hex(8)}`;
/** The owner's passphrase. */
export const PASSPHRASE = `owner-passphrase-${hex(16)}`;

export interface CanaryVault {
  owner: Vault;
  agent: Vault;
  token: string;
  backend: Backend;
}

/** An owner holding VALUE under NAME, an agent AGENT_ID granted PATTERN, and that agent's vault. */
export async function canaryVault(options: { backend?: Backend; audit?: AuditSink | false; now?: () => number } = {}): Promise<CanaryVault> {
  const backend = options.backend ?? memoryBackend();
  const owner = await createVault({ backend, passphrase: PASSPHRASE, passphraseParams: FAST_KDF, audit: options.audit });
  await owner.set(NAME, VALUE);
  const { token } = await owner.createAgent(AGENT_ID, { allow: [PATTERN], ttl: '1h' });
  const agent = await openVault({ backend, token, audit: options.audit, now: options.now });
  return { owner, agent, token, backend };
}

export interface Handouts {
  /** Every buffer that held the decrypted value: SecretBuffers' bytes, and the hardened transport's targets. */
  bytes: Uint8Array[];
  /** How many times the vault was asked to release the secret (`use` or `_prepare`). */
  resolutions: number;
}

/**
 * Record every buffer the vault decrypts the value into: the bytes of each SecretBuffer `use`
 * hands out (standard transport), and each target of `_prepare().decryptInto` (the hardened
 * transport, which decrypts into the request head it writes). `duringUse` sees each SecretBuffer
 * and PreparedSecret while it is live.
 */
export function watchBuffers(vault: Vault, duringUse: (handout: unknown) => void = () => undefined): Handouts {
  const handouts: Handouts = { bytes: [], resolutions: 0 };
  const use = vault.use.bind(vault);
  const prepare = vault._prepare.bind(vault);
  vault.use = ((name: string, fn: (secret: never) => unknown) => {
    handouts.resolutions++;
    return use(name, (secret) => {
      handouts.bytes.push(secret.bytes);
      duringUse(secret);
      return fn(secret as never);
    });
  }) as Vault['use'];
  vault._prepare = async (name: string) => {
    handouts.resolutions++;
    const prepared = await prepare(name);
    duringUse(prepared);
    return {
      length: prepared.length,
      decryptInto(target: Uint8Array) {
        prepared.decryptInto(target);
        handouts.bytes.push(target);
      },
      dispose: () => prepared.dispose(),
    };
  };
  return handouts;
}

export const isZero = (bytes: Uint8Array) => bytes.length > 0 && bytes.every((byte) => byte === 0);
