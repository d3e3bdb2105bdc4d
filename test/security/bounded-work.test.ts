/**
 * Issue 13, attack 8: values that make the vault work without bound. A glob pattern such as
 * `'*?'` × 20 + `'!'` (a backtracking regex kept the owner's `set()` busy past 30 s), too many
 * patterns, and a header asking Argon2id for 20 passes over 1 GiB (35–50 s and 1 GiB per
 * unlock attempt). Each is now refused, or done in bounded work; the tests assert the outcome
 * within a generous limit, not a speed.
 */
import { describe, expect, it } from 'vitest';
import { memoryBackend } from '../../src/backends/memory.ts';
import { passphraseParamsInBounds } from '../../src/crypto.ts';
import { createVault, openVault } from '../../src/index.ts';
import { compileAllow, MAX_ALLOW_PATTERNS } from '../../src/names.ts';
import { FAST_KDF, settle, testVault } from '../_fixtures/index.ts';

const MiB = 1024 * 1024;
const BACKTRACKING = `${'*?'.repeat(20)}!`;

describe('glob patterns', () => {
  it(`a backtracking pattern (${BACKTRACKING}) costs the owner's set() nothing, and still matches exactly`, async () => {
    const owner = await testVault();
    await owner.createAgent('bot', { allow: [BACKTRACKING] });
    // Synchronous matching would block the event loop, so the limit timer alone could not tell; the
    // names are 256 bytes, the longest there are, that the pattern cannot match (no "!").
    const outcome = await settle(async () => {
      for (let i = 0; i < 5; i++) await owner.set(`${'a'.repeat(250)}-${i}`, 'v');
      return 'done';
    });
    expect(outcome).toEqual({ resolved: 'done' });
    expect((await owner.list()).every((secret) => secret.agents.length === 0)).toBe(true);
    await owner.set(`${'x'.repeat(20)}!`, 'granted');
    await owner.set(`${'x'.repeat(19)}!`, 'too short: 20 "?" need 20 characters');
    const granted = (await owner.list()).filter((secret) => secret.agents.includes('bot')).map((secret) => secret.name);
    expect(granted).toEqual([`${'x'.repeat(20)}!`]);
  });

  it('matches like the glob it is, against a brute-force reference, on random patterns', () => {
    // The reference: does some split of `name` fit the pattern? Exponential, fine for tiny inputs.
    const reference = (pattern: string, name: string): boolean => {
      if (pattern === '') return name === '';
      const [head, rest] = [pattern[0]!, pattern.slice(1)];
      if (head === '*') return [...Array(name.length + 1).keys()].some((i) => reference(rest, name.slice(i)));
      return name !== '' && (head === '?' || head === name[0]) && reference(rest, name.slice(1));
    };
    let seed = 13;
    const random = (n: number) => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) % n);
    for (let i = 0; i < 5_000; i++) {
      const pattern = Array.from({ length: 1 + random(6) }, () => 'ab*?'[random(4)]).join('');
      const name = Array.from({ length: 1 + random(7) }, () => 'ab'[random(2)]).join('');
      expect(compileAllow([pattern])(name), `${pattern} ~ ${name}`).toBe(reference(pattern, name));
    }
  });

  it(`an agent takes at most ${MAX_ALLOW_PATTERNS} patterns`, async () => {
    const owner = await testVault();
    const many = Array.from({ length: MAX_ALLOW_PATTERNS + 1 }, (_, i) => `p${i}-*`);
    await expect(owner.createAgent('bot', { allow: many })).rejects.toMatchObject({ code: 'USAGE' });
    await owner.createAgent('bot', { allow: many.slice(1) });
  });
});

describe('Argon2id cost asked for by a header', () => {
  it('20 passes over 1 GiB (or 256 MiB) is refused before any hashing; what calibration can pick is accepted', async () => {
    const backend = memoryBackend();
    await createVault({ backend, passphrase: 'pw', passphraseParams: FAST_KDF });
    const header = JSON.parse(new TextDecoder().decode((await backend.get('header'))!));
    for (const [opslimit, memlimit] of [[20, 1024 * MiB], [20, 256 * MiB], [4, 1024 * MiB], [6, 256 * MiB]]) {
      await backend.set('header', new TextEncoder().encode(JSON.stringify({ ...header, unlock: { ...header.unlock, opslimit, memlimit } })));
      const outcome = await settle(() => openVault({ backend, passphrase: 'pw' }));
      expect(outcome, `${opslimit} x ${memlimit! / MiB} MiB`).toMatchObject({ code: 'INTEGRITY' });
    }
    // The most calibration ever chooses (64 MiB, up to 20 passes), and explicit lower costs, stay valid.
    expect(passphraseParamsInBounds({ opslimit: 20, memlimit: 64 * MiB })).toBe(true);
    expect(passphraseParamsInBounds({ opslimit: 5, memlimit: 256 * MiB })).toBe(true);
    expect(passphraseParamsInBounds({ opslimit: 20, memlimit: 65 * MiB })).toBe(false);
  });

  it('createVault refuses to make a vault its readers would refuse', async () => {
    await expect(createVault({ backend: memoryBackend(), passphrase: 'pw', passphraseParams: { opslimit: 20, memlimit: 1024 * MiB } }))
      .rejects.toMatchObject({ code: 'USAGE', message: expect.stringMatching(/opslimit × memlimit/) });
  });
});
