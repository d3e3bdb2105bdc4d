/**
 * libsodium-wrappers leaves plaintext and keys in its WASM memory (freed heap buffers and the
 * ChaCha20 stack block); `openInto` must leave none. The whole WASM heap is scanned for every
 * 8-byte window of the plaintext and the key.
 */
import sodium from 'libsodium-wrappers';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { changedWords } from '../../src/_bytes.ts';
import { IntegrityError } from '../../src/errors.ts';
import { initCrypto, open, openInto, randomBytes, seal, sealedLength } from '../../src/crypto.ts';
import { openVault } from '../../src/index.ts';
import { memoryBackend } from '../../src/backends/memory.ts';
import { fakeKey, testVault } from '../_fixtures/index.ts';

function wasmHeap(): Buffer {
  const heap = (sodium as unknown as { libsodium: { HEAPU8: Uint8Array } }).libsodium.HEAPU8;
  return Buffer.from(heap.buffer, heap.byteOffset, heap.length);
}

/** Occurrences in the WASM heap of the 8-byte windows of `needle` (any run of 15+ bytes holds one). */
function wasmCopies(needle: Uint8Array): number {
  const heap = wasmHeap();
  let hits = 0;
  for (let at = 0; at + 8 <= needle.length; at += 8) {
    for (let i = heap.indexOf(needle.subarray(at, at + 8)); i !== -1; i = heap.indexOf(needle.subarray(at, at + 8), i + 1)) hits++;
  }
  return hits;
}

/** Zero every copy that seal() (libsodium-wrappers) left, so a test starts from a clean heap. */
function clearCopies(needle: Uint8Array): void {
  const heap = wasmHeap();
  for (let at = 0; at + 8 <= needle.length; at += 4) {
    for (let i = heap.indexOf(needle.subarray(at, at + 8)); i !== -1; i = heap.indexOf(needle.subarray(at, at + 8), i + 1)) {
      heap.fill(0, i, i + 8);
    }
  }
}

beforeAll(() => initCrypto());

describe('openInto', () => {
  it.each([8, 51, 64, 100, 164, 1000])('leaves no plaintext or key byte in WASM memory (%i bytes)', (length) => {
    const key = randomBytes(32);
    const plaintext = randomBytes(length);
    const ad = randomBytes(20);
    const sealed = seal(key, plaintext, ad);
    clearCopies(plaintext);
    clearCopies(key);
    const out = new Uint8Array(sealedLength(sealed));
    openInto(key, sealed, ad, out, 'test');
    expect(Buffer.from(out).equals(Buffer.from(plaintext))).toBe(true);
    expect(wasmCopies(plaintext)).toBe(0);
    expect(wasmCopies(key)).toBe(0);
    openInto(key, sealed, ad, null, 'test');
    expect(wasmCopies(key)).toBe(0);
    // The contrast: libsodium-wrappers' own decryption leaves copies behind.
    open(key, sealed, ad, 'test');
    expect(wasmCopies(plaintext) + wasmCopies(key)).toBeGreaterThan(0);
  });

  it('rejects a flipped bit, a wrong key, other associated data and a truncation, verifying or decrypting', () => {
    const key = randomBytes(32);
    const ad = randomBytes(20);
    const sealed = seal(key, randomBytes(51), ad);
    const flipped = sealed.slice();
    flipped[30]! ^= 1;
    const cases: [Uint8Array, Uint8Array, Uint8Array][] = [
      [key, flipped, ad], [randomBytes(32), sealed, ad], [key, sealed, randomBytes(20)], [key, sealed.subarray(0, 39), ad],
    ];
    for (const [k, s, a] of cases) {
      expect(() => openInto(k, s, a, null, 'test')).toThrow(IntegrityError);
      expect(() => openInto(k, s, a, new Uint8Array(sealedLength(s)), 'test')).toThrow(IntegrityError);
    }
    const out = new Uint8Array(51);
    expect(() => openInto(key, flipped, ad, out, 'test')).toThrow(IntegrityError);
    expect(out.every((byte) => byte === 0)).toBe(true);
  });
});

describe('Vault._prepare', () => {
  it('checks and audits now, decrypts later into the caller\'s bytes, and leaves nothing in WASM memory', async () => {
    const backend = memoryBackend();
    const owner = await testVault({ backend });
    const value = fakeKey();
    await owner.set('openai-api-key', value);
    const { token } = await owner.createAgent('bot', { allow: ['openai-*'], ttl: '1h' });
    const agent = await openVault({ backend, token });
    const needle = Buffer.from(value);
    clearCopies(needle);
    const prepared = await agent._prepare('openai-api-key');
    expect(prepared.length).toBe(needle.length);
    const target = Buffer.alloc(prepared.length);
    prepared.decryptInto(target);
    expect(target.equals(needle)).toBe(true);
    expect(wasmCopies(needle)).toBe(0);
    prepared.dispose();
    expect(() => prepared.decryptInto(target)).toThrow(/disposed/);
    await expect(agent._prepare('other-key')).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
    await owner.revokeAgent('bot');
    await expect(agent._prepare('openai-api-key')).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
  });
});

describe('changedWords (how the decryption stack is located)', () => {
  /** The answer by a plain walk, word by word: what changedWords must agree with exactly. */
  function walked(before: Uint8Array, after: Uint8Array): { first: number; last: number } | undefined {
    const a = new Int32Array(before.buffer, before.byteOffset, before.length / 4);
    const b = new Int32Array(after.buffer, after.byteOffset, after.length / 4);
    const changed = [...a.keys()].filter((i) => a[i] !== b[i]);
    return changed.length ? { first: changed[0]!, last: changed.at(-1)! } : undefined;
  }

  function cases(): [Uint8Array, Uint8Array][] {
    const out: [Uint8Array, Uint8Array][] = [];
    for (const words of [1, 2, 3, 7, 64, 1000, 25_000]) {
      const before = randomBytes(words * 4);
      const edits = [[], [0], [words - 1], [words >> 1], [1, words - 2], [3, 5, words >> 2, words - 1]];
      for (const edit of edits) {
        const after = before.slice();
        for (const word of edit.filter((w) => w >= 0 && w < words)) after[word * 4 + (word % 4)]! ^= 0x5a;
        out.push([before, after]);
      }
      // Bytes rewritten with what they held are no change.
      const same = before.slice();
      same.set(before.subarray(0, 8), 0);
      out.push([before, same]);
    }
    return out;
  }

  it('finds exactly the first and last changed word, with native compares and without them', () => {
    for (const [before, after] of cases()) expect(changedWords(before, after)).toEqual(walked(before, after));
    vi.stubGlobal('Buffer', undefined);
    try {
      for (const [before, after] of cases()) expect(changedWords(before, after)).toEqual(walked(before, after));
    } finally {
      vi.unstubAllGlobals();
    }
  });
});
