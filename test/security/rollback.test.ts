/**
 * Rollback: the vault directory restored to an older copy. A local vault cannot know its own
 * latest state without something outside the directory, so this suite pins down exactly what
 * is and is not detected (the README's Security section says the same).
 */
import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createVault, IntegrityError, openVault } from '../../src/index.ts';
import { tempDir } from '../_fixtures/index.ts';

async function setup() {
  const root = tempDir('av-rollback-');
  const dir = join(root, 'vault');
  const keyFile = join(root, 'key');
  const owner = await createVault({ dir, keyFile, audit: false });
  await owner.set('api-key', 'old-value');
  const { token } = await owner.createAgent('bot', { allow: ['*'] });
  const snapshot = join(root, 'snapshot');
  cpSync(dir, snapshot, { recursive: true });
  const restore = () => {
    rmSync(dir, { recursive: true });
    cpSync(snapshot, dir, { recursive: true });
  };
  return { dir, keyFile, owner, token, restore };
}

describe('rollback of the vault directory', () => {
  it('DETECTED: a token newer than the restored agent record is refused as tampering', async () => {
    const { dir, owner, restore } = await setup();
    const { token: newer } = await owner.rotateAgent('bot');
    restore();
    await expect((await openVault({ dir, token: newer, audit: false })).get('api-key')).rejects.toBeInstanceOf(IntegrityError);
  });

  it('NOT DETECTED: an older secret value is served again after a restore', async () => {
    const { dir, owner, token, restore } = await setup();
    await owner.set('api-key', 'new-value');
    restore();
    expect(await (await openVault({ dir, token, audit: false })).get('api-key')).toBe('old-value');
  });

  it('DETECTED by a running agent and by the owner: a copy from before a revocation', async () => {
    const { dir, owner, token, restore } = await setup();
    const running = await openVault({ dir, token, audit: false });
    expect(await running.get('api-key')).toBe('old-value');
    await owner.revokeAgent('bot');
    await expect(running.get('api-key')).rejects.toMatchObject({ reason: 'revoked' });
    restore();
    // The running agent remembers the newest signed state it saw, the owner too (across runs, in
    // its config directory); a fresh agent process that never saw the revocation is fooled by the
    // copy: only server mode closes that.
    await expect(running.get('api-key')).rejects.toBeInstanceOf(IntegrityError);
    await expect(owner.list()).rejects.toBeInstanceOf(IntegrityError);
    await expect(openVault({ dir, keyFile: join(dir, '..', 'key') })).rejects.toBeInstanceOf(IntegrityError);
    expect(await (await openVault({ dir, token, audit: false })).get('api-key')).toBe('old-value');
  });

  it('DETECTED: mixing records of two different vaults', async () => {
    const a = await setup();
    const b = await setup();
    rmSync(join(b.dir, 'header'), { force: true });
    cpSync(a.dir, b.dir, { recursive: true, force: true, filter: (src) => !src.endsWith('.lock') });
    await expect(openVault({ dir: b.dir, token: b.token, audit: false })).rejects.toMatchObject({ reason: 'wrong-vault' });
  });
});
