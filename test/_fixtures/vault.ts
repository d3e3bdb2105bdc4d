/**
 * The shared vault factory. Plain module (no vitest import), so benches and child-process
 * workers can use it too.
 */
import { type CreateVaultOptions, createVault, type Vault } from '../../src/index.ts';
import { memoryBackend } from '../../src/backends/memory.ts';

/** The cheapest Argon2id the vault accepts: tests pay milliseconds, not the calibrated 0.5 s. */
export const FAST_KDF = { opslimit: 1, memlimit: 8 * 1024 * 1024 };

/** A new owner vault with the cheap KDF: a memory backend and passphrase `x` unless given. */
export function testVault(options: Omit<CreateVaultOptions, 'passphraseParams'> = {}): Promise<Vault> {
  const unlock = options.keyFile === undefined ? { passphrase: 'x' } : {};
  const storage = options.dir === undefined ? { backend: memoryBackend() } : {};
  return createVault({ ...unlock, ...storage, ...options, passphraseParams: FAST_KDF });
}
