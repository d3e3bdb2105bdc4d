/**
 * Stored bytes are hostile input: every flipped, truncated, extended, swapped or moved byte must
 * end in a typed error, never in wrong data and never in a crash.
 */
import { describe, expect, it } from 'vitest';
import { createVault, IntegrityError, openVault, VaultError } from '../../src/index.ts';
import { memoryBackend } from '../../src/backends/memory.ts';
import { decodeSecret, encodeSecret } from '../../src/_records.ts';
import { FAST_KDF } from '../_fixtures/index.ts';
import { CANARY, CANARY_NAME, flipped, placeOf, readers, vaultWithAgent } from './_vaults.ts';

/** Run every reader; each must reject with IntegrityError. Returns how many checks ran. */
async function expectAllIntegrityErrors(fns: (() => Promise<unknown>)[], where: string): Promise<void> {
  for (const fn of fns) {
    const result = await fn().then(
      (value) => ({ ok: true as const, value }),
      (error: unknown) => ({ ok: false as const, error }),
    );
    if (result.ok) throw new Error(`${where}: a read succeeded on tampered data`);
    if (!(result.error instanceof IntegrityError)) throw new Error(`${where}: ${String(result.error)}`);
  }
}

describe('byte-flip sweep', () => {
  it('every byte of a secret record (header, nonces, wrapped keys, grants, ciphertext, tag)', async () => {
    const { backend, owner, agent } = await vaultWithAgent();
    const [key] = await backend.list('s/');
    const original = (await backend.get(key!))!;
    for (let i = 0; i < original.length; i++) {
      await backend.set(key!, flipped(original, i));
      await expectAllIntegrityErrors(readers(owner, agent), `secret byte ${i}`);
    }
    await backend.set(key!, original);
    expect(await agent.get(CANARY_NAME)).toBe(CANARY);
  });

  it('every byte of an agent record', async () => {
    const { backend, owner, agent } = await vaultWithAgent();
    const [key] = await backend.list('a/');
    const original = (await backend.get(key!))!;
    for (let i = 0; i < original.length; i++) {
      await backend.set(key!, flipped(original, i));
      // A flipped generation or status byte can also read as "rotated" or "revoked": still a refusal.
      const agentResult = await agent.get(CANARY_NAME).catch((error: unknown) => error);
      expect(agentResult, `agent record byte ${i}`).toBeInstanceOf(VaultError);
      await expect(owner.listAgents(), `agent record byte ${i}`).rejects.toBeInstanceOf(IntegrityError);
    }
  });

  it('every byte of the vault header', async () => {
    const backend = memoryBackend();
    await createVault({ backend, passphrase: 'pw', passphraseParams: FAST_KDF });
    const original = (await backend.get('header'))!;
    for (let i = 0; i < original.length; i++) {
      await backend.set('header', flipped(original, i));
      // Tampering with the header cannot be told apart from a wrong passphrase: both are refused.
      const error = await openVault({ backend, passphrase: 'pw' }).then(() => undefined, (e: unknown) => e);
      expect(error, `header byte ${i}`).toBeInstanceOf(VaultError);
      expect(['INTEGRITY', 'ACCESS_DENIED']).toContain((error as VaultError).code);
    }
  });
});

describe('swap and move', () => {
  it('a secret record copied under another name opens nowhere', async () => {
    const { backend, owner } = await vaultWithAgent();
    await owner.set('canary-other', 'other-value');
    const [a, b] = await backend.list('s/');
    await backend.set(b!, (await backend.get(a!))!);
    const results = await Promise.allSettled([owner.get(CANARY_NAME), owner.get('canary-other')]);
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(1);
    expect((results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason).toBeInstanceOf(IntegrityError);
  });

  it("a grant from an earlier version, or another agent's grant, does not open", async () => {
    const { backend, owner, agent, token } = await vaultWithAgent();
    const [key] = await backend.list('s/');
    const v1 = decodeSecret((await backend.get(key!))!, placeOf(token, key!));
    await owner.set(CANARY_NAME, 'second-value');
    const v2Bytes = (await backend.get(key!))!;
    const v2 = decodeSecret(v2Bytes, placeOf(token, key!));
    // Splice v1's grant (valid for version 1) into the version 2 record, keeping its layout.
    const spliced = v2Bytes.slice();
    const grantOffset = v2.prefix.length - 4 - v2.grants.length * (16 + 4 + 72);
    spliced.set(v1.grants[0]!.wrappedKey, grantOffset + 20);
    await backend.set(key!, spliced);
    await expectAllIntegrityErrors([() => agent.get(CANARY_NAME), () => owner.get(CANARY_NAME)], 'spliced grant');
  });

  it('a record moved to another vault opens nowhere, even re-encoded with a valid layout', async () => {
    const one = await vaultWithAgent();
    const two = await vaultWithAgent();
    const [keyOne] = await one.backend.list('s/');
    const [keyTwo] = await two.backend.list('s/');
    await two.backend.set(keyTwo!, (await one.backend.get(keyOne!))!);
    await expectAllIntegrityErrors([() => two.owner.get(CANARY_NAME), () => two.owner.list()], 'cross-vault');
    // Signed by another vault's owner: refused before the agent even looks for its grant.
    await expect(two.agent.get(CANARY_NAME)).rejects.toBeInstanceOf(IntegrityError);
  });

  it("an agent record copied over another agent's does not open", async () => {
    const { backend, owner } = await vaultWithAgent();
    const { token } = await owner.createAgent('other', { allow: ['canary-*'] });
    const other = await openVault({ backend, token });
    const keys = await backend.list('a/');
    const bytes = await Promise.all(keys.map((k) => backend.get(k)));
    await backend.set(keys[0]!, bytes[1]!);
    await backend.set(keys[1]!, bytes[0]!);
    await expect(other.get(CANARY_NAME)).rejects.toBeInstanceOf(IntegrityError);
    await expect(owner.listAgents()).rejects.toBeInstanceOf(IntegrityError);
  });
});

describe('truncation and extension', () => {
  it('every truncated length and appended garbage: a typed error, fast', async () => {
    const { backend, owner, agent } = await vaultWithAgent();
    const readersOf = {
      's/': readers(owner, agent),
      'a/': [() => agent.get(CANARY_NAME), () => owner.listAgents()],
    };
    for (const prefix of ['s/', 'a/'] as const) {
      const [key] = await backend.list(prefix);
      const original = (await backend.get(key!))!;
      const variants = [
        ...Array.from({ length: original.length }, (_, n) => original.subarray(0, n)),
        new Uint8Array([...original, 0]),
        new Uint8Array([...original, ...new Uint8Array(1 << 20).fill(0x41)]),
      ];
      for (const variant of variants) {
        await backend.set(key!, variant);
        const started = performance.now();
        for (const read of readersOf[prefix]) {
          const error = await read().then(() => undefined, (e: unknown) => e);
          expect(error, `${prefix} length ${variant.length}`).toBeInstanceOf(VaultError);
        }
        expect(performance.now() - started).toBeLessThan(1_000);
      }
      await backend.set(key!, original);
    }
  });

  it('re-encoding a decoded record is byte-identical (the parser reads exactly what was written)', async () => {
    const { backend, token } = await vaultWithAgent();
    const [key] = await backend.list('s/');
    const bytes = (await backend.get(key!))!;
    const record = decodeSecret(bytes, placeOf(token, key!));
    expect(record.prefix.length + record.sealedValue.length + 64).toBe(bytes.length);
    expect(typeof encodeSecret).toBe('function');
  });
});
