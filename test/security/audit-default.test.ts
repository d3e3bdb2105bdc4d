/**
 * Issue 13, attack 10: `createVault({ backend: fileBackend({ dir }) })` and `openVault({ backend,
 * token })` — the way the README passes a backend — used to write no audit at all, silently.
 * Now every backend audits unless the caller says `audit: false`: the file backend to its
 * `audit.jsonl`, the memory backend to an in-memory log, and a backend with no sink of its own
 * is refused until the caller gives one or declines.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backend.ts';
import { fileBackend } from '../../src/backends/file.ts';
import { memoryBackend } from '../../src/backends/memory.ts';
import { createVault, memoryAuditSink, openVault } from '../../src/index.ts';
import { collect, FAST_KDF, tempDir } from '../_fixtures/index.ts';

const kdf = { passphrase: 'pw', passphraseParams: FAST_KDF };

/** A backend with the four required methods and nothing else (no sink of its own). */
function bareBackend(): Backend {
  const { name, get, set, delete: remove, list } = memoryBackend();
  return { name: `bare-${name}`, get, set, delete: remove, list };
}

describe('auditing with an explicit backend', () => {
  it('fileBackend({ dir }): the owner and the agent record to audit.jsonl, and it verifies', async () => {
    const dir = tempDir('av-audit-default-');
    const owner = await createVault({ backend: fileBackend({ dir }), ...kdf });
    await owner.set('openai-api-key', 'sk-default-audit-0123456789');
    const { token } = await owner.createAgent('bot', { allow: ['openai-*'] });
    const agent = await openVault({ backend: fileBackend({ dir }), token });
    await agent.get('openai-api-key');
    await expect(agent.get('not-granted')).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
    const lines = readFileSync(join(dir, 'audit.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    expect(lines.map((r) => `${r.actor} ${r.action} ${r.outcome}`)).toEqual([
      'owner vault.create ok', 'owner secret.set ok', 'owner agent.create ok',
      'agent:bot secret.resolve ok', 'agent:bot secret.resolve denied',
    ]);
    expect(await owner.verifyAudit()).toMatchObject({ ok: true, records: 5 });
  });

  it('memoryBackend(): an in-memory log shared by every vault on that backend', async () => {
    const backend = memoryBackend();
    const owner = await createVault({ backend, ...kdf });
    await owner.set('openai-api-key', 'sk-default-audit-0123456789');
    const { token } = await owner.createAgent('bot', { allow: ['openai-*'] });
    await (await openVault({ backend, token })).get('openai-api-key');
    const records = await collect(owner.readAudit({ action: 'secret.resolve' }));
    expect(records).toMatchObject([{ actor: 'agent:bot', name: 'openai-api-key', outcome: 'ok' }]);
    expect(await owner.verifyAudit()).toMatchObject({ ok: true, records: 4 });
  });

  it('a backend without a sink is refused for owner and agent alike, until given one or told audit: false', async () => {
    const backend = bareBackend();
    await expect(createVault({ backend, ...kdf })).rejects.toMatchObject({ code: 'USAGE', message: expect.stringMatching(/brings no audit sink/) });
    expect(await backend.get('header')).toBeUndefined(); // refused before anything was stored
    const sink = memoryAuditSink();
    const owner = await createVault({ backend, audit: sink, ...kdf });
    await owner.set('openai-api-key', 'sk-default-audit-0123456789');
    const { token } = await owner.createAgent('bot', { allow: ['openai-*'] });
    await expect(openVault({ backend, token })).rejects.toMatchObject({ code: 'USAGE' });
    expect(await (await openVault({ backend, token, audit: sink })).get('openai-api-key')).toBe('sk-default-audit-0123456789');
    // Declined, explicitly: reads work and nothing is recorded.
    const before = sink.lines.length;
    expect(await (await openVault({ backend, token, audit: false })).get('openai-api-key')).toBe('sk-default-audit-0123456789');
    expect(sink.lines.length).toBe(before);
  });

  it('the default file storage (no backend) still audits beside the vault', async () => {
    const dir = tempDir('av-audit-default-');
    await createVault({ dir, ...kdf });
    expect(existsSync(join(dir, 'audit.jsonl'))).toBe(true);
  });
});
