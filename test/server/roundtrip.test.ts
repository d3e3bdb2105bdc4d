import { describe, expect, it } from 'vitest';
import { openVault } from '../../src/index.ts';
import { ownerOn, STORES, storeServer } from './_server.ts';

describe.each(STORES)('server mode (%s)', (store) => {
  it('an owner creates remotely, an agent resolves what it was granted, and nothing else', async () => {
    const server = await storeServer(store);
    const { owner, keyFile } = await ownerOn(server.url, server.dir);
    await owner.set('openai-api-key', 'sk-live-one');
    await owner.set('db-password', 'hunter2');
    const { token } = await owner.createAgent('bot', { allow: ['openai-*'] });
    const agent = await openVault({ server: server.url, token });
    expect(await agent.get('openai-api-key')).toBe('sk-live-one');
    await expect(agent.get('db-password')).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
    await owner.set('openai-api-key', 'sk-live-two');
    expect(await agent.get('openai-api-key')).toBe('sk-live-two');

    const again = await openVault({ server: server.url, keyFile });
    expect((await again.list()).map((s) => s.name)).toEqual(['db-password', 'openai-api-key']);
    expect(await again.get('db-password')).toBe('hunter2');
    const report = await again.verifyAudit();
    expect(report.ok).toBe(true);
    const records = [];
    for await (const record of again.readAudit({ agent: 'bot' })) records.push(record);
    // Format 2: an agent holds no name key, so it cannot even locate a name it was not granted; the
    // denial of db-password happens in the agent and never reaches the server's audit.
    expect(records.map((r) => [r.action, r.name, r.outcome])).toEqual([
      ['secret.resolve', 'openai-api-key', 'ok'],
      ['secret.resolve', 'openai-api-key', 'ok'],
    ]);
    await agent.close();
    await owner.close();
    await again.close();
  });
});
