/** Shared fixtures for the adversarial suite: small vaults with cheap Argon2id parameters. */
import { type Backend, createVault, openVault } from '../../src/index.ts';
import { memoryBackend } from '../../src/backends/memory.ts';
import { FAST_KDF } from '../_fixtures/index.ts';
import { parseToken } from '../../src/token.ts';

export const CANARY = 'sk-canary-7f3e9b1c4d2a8e6f0b5c';
export const CANARY_NAME = 'canary-secret-name';

/** An owner vault holding the canary, an agent granted it, and that agent's vault. */
export async function vaultWithAgent(backend: Backend = memoryBackend()) {
  const owner = await createVault({ backend, passphrase: 'owner passphrase', passphraseParams: FAST_KDF });
  await owner.set(CANARY_NAME, CANARY);
  const { token } = await owner.createAgent('bot', { allow: ['canary-*'], ttl: '1h' });
  const agent = await openVault({ backend, token });
  return { backend, owner, agent, token };
}

/** Every way a reader can ask for the canary: the owner, the agent, and the owner's list. */
export function readers(owner: Awaited<ReturnType<typeof vaultWithAgent>>['owner'], agent: typeof owner) {
  return [() => owner.get(CANARY_NAME), () => agent.get(CANARY_NAME), () => owner.list()];
}

export function flipped(bytes: Uint8Array, index: number, mask = 0x01): Uint8Array {
  const copy = bytes.slice();
  copy[index]! ^= mask;
  return copy;
}

/** Where a stored record must verify (its vault, backend key and owner key), read from the token. */
export function placeOf(token: string, key: string) {
  const { vaultId, ownerKey } = parseToken(token);
  return { vaultId, key, publicKey: ownerKey };
}
