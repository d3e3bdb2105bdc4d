/** Nonce uniqueness under one key, and unlocking: wrong passphrases, capped parameters. */
import { describe, expect, it } from 'vitest';
import { createVault, openVault } from '../../src/index.ts';
import { memoryBackend } from '../../src/backends/memory.ts';
import { initCrypto, passphraseKey, randomBytes, seal } from '../../src/crypto.ts';
import { FAST_KDF } from '../_fixtures/index.ts';

describe('nonces', () => {
  it('100,000 seals of one value under one key give 100,000 distinct nonces and ciphertexts', async () => {
    await initCrypto();
    const key = randomBytes(32);
    const value = new TextEncoder().encode('the same value every time');
    const nonces = new Set<string>();
    const ciphertexts = new Set<string>();
    for (let i = 0; i < 100_000; i++) {
      const sealed = Buffer.from(seal(key, value, new Uint8Array(0)));
      nonces.add(sealed.subarray(0, 24).toString('base64'));
      ciphertexts.add(sealed.subarray(24).toString('base64'));
    }
    expect(nonces.size).toBe(100_000);
    expect(ciphertexts.size).toBe(100_000);
  });
});

describe('unlock', () => {
  it('a wrong passphrase fails cleanly and leaves the vault usable', async () => {
    const backend = memoryBackend();
    const owner = await createVault({ backend, passphrase: 'right', passphraseParams: FAST_KDF });
    await owner.set('k', 'v');
    for (const wrong of ['wrong', 'right ', 'Right', new Uint8Array([1, 2, 3])]) {
      await expect(openVault({ backend, passphrase: wrong })).rejects.toMatchObject({
        code: 'ACCESS_DENIED',
        reason: 'wrong-unlock',
        message: expect.stringMatching(/^Wrong passphrase/),
      });
    }
    await expect(openVault({ backend, passphrase: '' })).rejects.toMatchObject({ code: 'USAGE' });
    expect(await (await openVault({ backend, passphrase: 'right' })).get('k')).toBe('v');
  });

  it('the derived key is never all zeros and differs per salt and passphrase', async () => {
    await initCrypto();
    const keys = new Set<string>();
    for (const passphrase of ['', 'a', 'b']) {
      for (const salt of [new Uint8Array(16), new Uint8Array(16).fill(1)]) {
        const key = await passphraseKey(new TextEncoder().encode(passphrase), salt, FAST_KDF);
        expect(key.length).toBe(32);
        expect(key.some((byte) => byte !== 0)).toBe(true);
        keys.add(Buffer.from(key).toString('hex'));
      }
    }
    expect(keys.size).toBe(6);
  });

  it('Argon2id parameters read from a header are capped: a hostile header is refused at once', async () => {
    const backend = memoryBackend();
    await createVault({ backend, passphrase: 'pw', passphraseParams: FAST_KDF });
    const header = JSON.parse(new TextDecoder().decode((await backend.get('header'))!));
    for (const [opslimit, memlimit] of [[4_000_000_000, 8 << 20], [1, 64 * 1024 ** 3], [0, 8 << 20], [1, 1024], [1.5, 8 << 20], ['3', 8 << 20]]) {
      await backend.set('header', new TextEncoder().encode(JSON.stringify({ ...header, unlock: { ...header.unlock, opslimit, memlimit } })));
      const started = performance.now();
      await expect(openVault({ backend, passphrase: 'pw' })).rejects.toMatchObject({ code: 'INTEGRITY' });
      expect(performance.now() - started).toBeLessThan(500);
    }
  });

  it('createVault refuses out-of-bounds Argon2id parameters', async () => {
    await expect(
      createVault({ backend: memoryBackend(), passphrase: 'pw', passphraseParams: { opslimit: 0, memlimit: 1 } }),
    ).rejects.toMatchObject({ code: 'USAGE' });
  });
});
