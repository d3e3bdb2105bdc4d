/** Agent tokens are hostile input too: every malformed or altered token is refused, cleanly. */
import { describe, expect, it } from 'vitest';
import { AccessDeniedError, openVault, VaultError } from '../../src/index.ts';
import { CANARY_NAME, vaultWithAgent } from './_vaults.ts';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

describe('agent tokens', () => {
  it('every single-character change of a valid token is refused', async () => {
    const { backend, token } = await vaultWithAgent();
    let refused = 0;
    for (let i = 0; i < token.length; i++) {
      const replacement = token[i] === 'A' ? 'B' : 'A';
      const altered = token.slice(0, i) + replacement + token.slice(i + 1);
      const result = await openVault({ backend, token: altered })
        .then((vault) => vault.get(CANARY_NAME))
        .then((value) => ({ value }), (error: unknown) => ({ error }));
      expect('value' in result, `position ${i} opened`).toBe(false);
      expect((result as { error: unknown }).error).toBeInstanceOf(VaultError);
      refused++;
    }
    expect(refused).toBe(token.length);
  });

  it('wrong length, wrong alphabet and non-strings get AccessDeniedError, not a crash', async () => {
    const { backend, token } = await vaultWithAgent();
    const bad: unknown[] = [
      '', 'avt_', 'avt', token.slice(0, -1), `${token}A`, `${token}${'A'.repeat(10_000)}`, token.replace('avt_', 'avx_'),
      `avt_${'!'.repeat(80)}`, `avt_${'é'.repeat(80)}`, token.replace(/.$/, '='), `${token}\u0000`,
      `avt_${'A'.repeat(4)}`, 42, null, {}, ['avt_x'],
    ];
    for (const candidate of bad) {
      const error = await openVault({ backend, token: candidate as string }).then(() => undefined, (e: unknown) => e);
      expect(error, JSON.stringify(candidate)?.slice(0, 40)).toBeInstanceOf(AccessDeniedError);
      expect((error as AccessDeniedError).reason).toBe('bad-token');
      expect(String((error as Error).message)).not.toContain(token.slice(4, 20));
    }
  });

  it('random strings of the right shape are refused', async () => {
    const { backend, token } = await vaultWithAgent();
    for (let n = 0; n < 200; n++) {
      const random = `avt_${Array.from({ length: token.length - 4 }, () => ALPHABET[Math.floor(Math.random() * 64)]).join('')}`;
      await expect(openVault({ backend, token: random })).rejects.toBeInstanceOf(AccessDeniedError);
    }
  });

  it("agent A cannot read B's secrets; a token for one vault is refused by another", async () => {
    const one = await vaultWithAgent();
    await one.owner.set('b-only', 'value-for-b');
    const b = await one.owner.createAgent('b', { allow: ['b-*'] });
    await expect(one.agent.get('b-only')).rejects.toMatchObject({ reason: 'not-granted' });
    expect(await (await openVault({ backend: one.backend, token: b.token })).get('b-only')).toBe('value-for-b');
    const two = await vaultWithAgent();
    await expect(openVault({ backend: two.backend, token: one.token })).rejects.toMatchObject({ reason: 'wrong-vault' });
  });

  it('the token never appears in an error, inspect or JSON of the vault', async () => {
    const { backend, owner, agent, token } = await vaultWithAgent();
    const { inspect } = await import('node:util');
    await owner.revokeAgent('bot');
    const error = await agent.get(CANARY_NAME).then(() => new Error('resolved after revocation'), (e: unknown) => e as Error);
    expect(error).toMatchObject({ reason: 'revoked' });
    const body = token.slice(4);
    for (const text of [inspect(agent, { depth: 10, showHidden: true }), JSON.stringify(agent), String(error), error.stack, inspect(error)]) {
      expect(text).not.toContain(body.slice(0, 16));
    }
    expect(inspect(agent)).toMatch(/^Vault <agent bot [0-9a-f]{32}>$/);
    expect(backend).toBeDefined();
  });
});
