import { describe, expect, it } from 'vitest';
import {
  AccessDeniedError, createVault, IntegrityError, openVault, SecretNotFoundError, TokenExpiredError,
  type Backend,
} from '../src/index.ts';
import { memoryBackend } from '../src/backends/memory.ts';
import { FAST_KDF } from './_fixtures/index.ts';

async function ownerVault(backend: Backend = memoryBackend(), now?: () => number) {
  const vault = await createVault({ backend, passphrase: 'correct horse', passphraseParams: FAST_KDF, now });
  return { backend, vault };
}

describe('owner', () => {
  it('sets, gets, lists and deletes secrets with versions', async () => {
    const { vault } = await ownerVault();
    expect(await vault.set('openai-api-key', 'sk-one')).toEqual({ version: 1 });
    expect(await vault.set('openai-api-key', 'sk-two')).toEqual({ version: 2 });
    await vault.set('bytes', Uint8Array.of(0, 255, 7));
    expect(await vault.get('openai-api-key')).toBe('sk-two');
    expect(await vault.use('bytes', (s) => [...s.bytes])).toEqual([0, 255, 7]);
    const listed = await vault.list();
    expect(listed.map((s) => [s.name, s.version])).toEqual([['bytes', 1], ['openai-api-key', 2]]);
    await vault.delete('bytes');
    await expect(vault.get('bytes')).rejects.toBeInstanceOf(SecretNotFoundError);
    await expect(vault.delete('bytes')).rejects.toMatchObject({ code: 'SECRET_NOT_FOUND' });
  });

  it('reopens with the passphrase and refuses a wrong one', async () => {
    const { backend, vault } = await ownerVault();
    await vault.set('a', 'value-a');
    const again = await openVault({ backend, passphrase: 'correct horse' });
    expect(await again.get('a')).toBe('value-a');
    await expect(openVault({ backend, passphrase: 'wrong horse' })).rejects.toMatchObject({
      code: 'ACCESS_DENIED',
      reason: 'wrong-unlock',
    });
  });

  it('refuses to create a second vault in the same backend', async () => {
    const { backend } = await ownerVault();
    await expect(createVault({ backend, passphrase: 'x', passphraseParams: FAST_KDF })).rejects.toMatchObject({
      code: 'VAULT_EXISTS',
    });
  });

  it('hands out wiped SecretBuffers, even when the callback throws', async () => {
    const { vault } = await ownerVault();
    await vault.set('k', 'secret-value');
    let kept: Uint8Array | undefined;
    await expect(
      vault.use('k', (secret) => {
        kept = secret.bytes;
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect([...kept!].every((b) => b === 0)).toBe(true);
  });
});

describe('agents', () => {
  it('an agent reads only what its patterns allow, including secrets set later', async () => {
    const { backend, vault } = await ownerVault();
    await vault.set('openai-api-key', 'sk-openai');
    await vault.set('db-url', 'postgres://x');
    const { token, agent } = await vault.createAgent('bot', { allow: ['openai-*'], ttl: '1h' });
    expect(token).toMatch(/^avt_[A-Za-z0-9_-]+$/);
    expect(agent.status).toBe('active');
    await vault.set('openai-org', 'org-1');
    const agentVault = await openVault({ backend, token });
    expect(agentVault.role).toBe('agent');
    expect(await agentVault.get('openai-api-key')).toBe('sk-openai');
    expect(await agentVault.get('openai-org')).toBe('org-1');
    await expect(agentVault.get('db-url')).rejects.toMatchObject({ code: 'ACCESS_DENIED', reason: 'not-granted' });
    await expect(agentVault.set('openai-api-key', 'evil')).rejects.toMatchObject({ reason: 'owner-only' });
    expect((await vault.list()).find((s) => s.name === 'openai-org')?.agents).toEqual(['bot']);
  });

  it('revocation and rotation take effect on the next request', async () => {
    const { backend, vault } = await ownerVault();
    await vault.set('openai-api-key', 'sk-openai');
    const first = await vault.createAgent('bot', { allow: ['*'] });
    const agentVault = await openVault({ backend, token: first.token });
    expect(await agentVault.get('openai-api-key')).toBe('sk-openai');
    const rotated = await vault.rotateAgent('bot');
    await expect(agentVault.get('openai-api-key')).rejects.toMatchObject({ reason: 'rotated' });
    const second = await openVault({ backend, token: rotated.token });
    expect(await second.get('openai-api-key')).toBe('sk-openai');
    await vault.revokeAgent('bot');
    await expect(second.get('openai-api-key')).rejects.toMatchObject({ reason: 'revoked' });
    expect((await vault.listAgents()).map((a) => a.status)).toEqual(['revoked']);
    const third = await vault.createAgent('bot', { allow: ['*'] });
    expect((await openVault({ backend, token: third.token }).then((v) => v.get('openai-api-key')))).toBe('sk-openai');
    await expect(second.get('openai-api-key')).rejects.toBeInstanceOf(AccessDeniedError);
  });

  it('expiry is enforced with the injected clock', async () => {
    let now = 1_000_000;
    const { backend, vault } = await ownerVault(memoryBackend(), () => now);
    await vault.set('k', 'v');
    const { token } = await vault.createAgent('bot', { allow: ['k'], ttl: '1h' });
    const agentVault = await openVault({ backend, token, now: () => now });
    expect(await agentVault.get('k')).toBe('v');
    now += 3_600_000;
    await expect(agentVault.get('k')).rejects.toBeInstanceOf(TokenExpiredError);
    expect((await vault.listAgents())[0]!.status).toBe('expired');
  });

  it('a token for another vault is refused', async () => {
    const one = await ownerVault();
    const two = await ownerVault();
    const { token } = await one.vault.createAgent('bot', { allow: ['*'] });
    await expect(openVault({ backend: two.backend, token })).rejects.toMatchObject({ reason: 'wrong-vault' });
  });
});

describe('integrity', () => {
  it('a secret record moved to another name fails to open', async () => {
    const { backend, vault } = await ownerVault();
    await vault.set('a', 'value-a');
    await vault.set('b', 'value-b');
    const keys = await backend.list('s/');
    const [ka, kb] = keys as [string, string];
    await backend.set(kb, (await backend.get(ka))!);
    const results = await Promise.allSettled([vault.get('a'), vault.get('b')]);
    expect(results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason))
      .toEqual([expect.any(IntegrityError)]);
  });
});

describe('a failing custom backend', () => {
  it("a driver's raw error surfaces as a BackendError with the original as cause", async () => {
    const backend = memoryBackend();
    const owner = await createVault({ backend, passphrase: 'p', passphraseParams: FAST_KDF });
    await owner.set('k', 'v');
    const failure = Object.assign(new Error('connection reset by peer'), { code: 'ECONNRESET' });
    const broken: Backend = { ...backend, name: 'flaky', get: async () => { throw failure; } };
    const reopened = await openVault({ backend: { ...backend, name: 'flaky' }, passphrase: 'p' });
    expect(await reopened.get('k')).toBe('v');
    const error = await openVault({ backend: broken, passphrase: 'p' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'BACKEND', name: 'BackendError', cause: failure });
    expect((error as Error).message).toMatch(/^The flaky backend failed to read a record \(ECONNRESET\)\./);
  });
});

describe('isVaultError', () => {
  it('recognises VaultErrors, from this copy or another, and nothing else', async () => {
    const { AccessDeniedError: Denied, isVaultError } = await import('../src/index.ts');
    expect(isVaultError(new Denied('revoked', 'x'))).toBe(true);
    // A copy of the class from a second load of the package (ESM beside CJS): same name and code.
    class AccessDeniedError extends Error {
      code = 'ACCESS_DENIED';
    }
    expect(isVaultError(new AccessDeniedError('x'))).toBe(true);
    const enoent = Object.assign(new Error('no such file'), { code: 'ENOENT' });
    expect(isVaultError(enoent)).toBe(false);
    expect(isVaultError(Object.assign(new Error('x'), { code: 'USAGE', name: 'Other' }))).toBe(false);
    expect(isVaultError({ code: 'USAGE' })).toBe(false);
  });
});
