/**
 * A running agent follows AGENT_VAULT_TOKEN_FILE (a rotation reaches it without a restart). Whoever
 * can write that file must not be able to choose what the process trusts: a token of another
 * agent, or one of this agent pinning another owner key (which would make records signed by that
 * key acceptable), is refused, and the process keeps the token it had.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createVault, openVault } from '../../src/index.ts';
import { ownerSigner } from '../../src/_signed.ts';
import { randomBytes } from '../../src/crypto.ts';
import { encodeToken, parseToken } from '../../src/token.ts';
import { tempDir } from '../_fixtures/index.ts';

afterEach(() => {
  delete process.env.AGENT_VAULT_TOKEN_FILE;
});

describe('the followed token file', () => {
  it('takes a rotated token of the same agent; refuses another owner key or another agent, keeping its own', async () => {
    const root = tempDir('av-follow-');
    const dir = join(root, 'vault');
    const owner = await createVault({ dir, keyFile: join(root, 'owner.key'), configDir: join(root, 'config') });
    await owner.set('openai-api-key', 'sk-follow-1');
    const { token } = await owner.createAgent('bot', { allow: ['openai-*'] });
    const { token: otherAgent } = await owner.createAgent('other', { allow: ['*'] });
    const file = join(root, 'token');
    writeFileSync(file, `${token}\n`, { mode: 0o600 });
    process.env.AGENT_VAULT_TOKEN_FILE = file;
    const agent = await openVault({ dir });
    expect(await agent.get('openai-api-key')).toBe('sk-follow-1');

    const me = parseToken(token);
    const foreignOwner = encodeToken({ ...me, ownerKey: ownerSigner(randomBytes(32)).publicKey });
    for (const planted of [foreignOwner, otherAgent]) {
      writeFileSync(file, `${planted}\n`, { mode: 0o600 });
      await expect(agent.get('openai-api-key')).rejects.toMatchObject({ code: 'ACCESS_DENIED', reason: 'bad-token' });
      expect(await agent.get('openai-api-key')).toBe('sk-follow-1');
    }

    const { token: rotated } = await owner.rotateAgent('bot');
    writeFileSync(file, `${rotated}\n`, { mode: 0o600 });
    expect(await agent.get('openai-api-key')).toBe('sk-follow-1');
    expect(agent.agentId).toBe('bot');
    await agent.close();
  });
});
