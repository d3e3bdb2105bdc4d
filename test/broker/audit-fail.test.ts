/**
 * Fail closed: when the broker's vault cannot write its audit record, the key is not released,
 * the request is refused in the provider's shape, and nothing reaches the provider.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { brokerFixture } from './_fixtures.ts';

it('an unwritable audit log stops the key: 403 vault-audit, nothing sent upstream', async () => {
  const f = await brokerFixture();
  try {
    const { key } = f.keys.mint('s', 'openai', 60_000);
    const ok = await fetch(`${f.broker.url}/openai/v1/models`, { headers: { authorization: `Bearer ${key}` } });
    expect(ok.status).toBe(200);
    const before = f.provider.received.length;
    // A directory where the log was: every append now fails.
    rmSync(join(f.dir, 'audit.jsonl'));
    mkdirSync(join(f.dir, 'audit.jsonl'));
    const refused = await fetch(`${f.broker.url}/openai/v1/models`, { headers: { authorization: `Bearer ${key}` } });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('vault-audit');
    expect(f.provider.received.length).toBe(before);
  } finally {
    rmSync(join(f.dir, 'audit.jsonl'), { recursive: true, force: true });
    await f.close();
  }
});
