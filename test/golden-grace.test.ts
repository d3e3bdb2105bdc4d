/**
 * The golden vault of a rotation in its grace (an 'AVG2' agent record, written by
 * test/_fixtures/make-golden-grace.ts) still opens with today's code: both tokens read during
 * the grace, only the new one after it, and the owner lists the grace and then ends it.
 */
import { chmodSync, cpSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openVault } from '../src/index.ts';
import { DAY, MADE_AT } from './_fixtures/golden.ts';
import { GRACE_AGENT, GRACE_ENDS_BY, GRACE_PATHS, GRACE_SECRET, type GraceTokens } from './_fixtures/golden-grace.ts';
import { tempDir } from './_fixtures/index.ts';

const tokens = JSON.parse(readFileSync(GRACE_PATHS.tokens, 'utf8')) as GraceTokens;

/** A private copy (opening writes audit records), with the modes git does not keep. */
function copy(): { dir: string; keyFile: string } {
  const root = tempDir('agent-vault-golden-grace-');
  const dir = join(root, 'vault');
  cpSync(GRACE_PATHS.vault, dir, { recursive: true });
  chmodSync(dir, 0o700);
  for (const name of readdirSync(dir)) chmodSync(join(dir, name), 0o600);
  const keyFile = join(root, 'owner.key');
  cpSync(GRACE_PATHS.keyFile, keyFile);
  chmodSync(keyFile, 0o600);
  return { dir, keyFile };
}

const read = (dir: string, token: string, at: number) =>
  openVault({ dir, token, now: () => at }).then((vault) => vault.get(GRACE_SECRET.name)).catch((error) => error.reason ?? error.code);

describe('the golden vault in a grace (AVG2)', () => {
  it('both tokens read during the grace; only the new one after it', async () => {
    const { dir } = copy();
    expect(await read(dir, tokens.before, MADE_AT + DAY)).toBe(GRACE_SECRET.value);
    expect(await read(dir, tokens.after, MADE_AT + DAY)).toBe(GRACE_SECRET.value);
    expect(await read(dir, tokens.before, GRACE_ENDS_BY)).toBe('rotated');
    expect(await read(dir, tokens.after, GRACE_ENDS_BY)).toBe(GRACE_SECRET.value);
  });

  it('the owner lists the grace, and its first write after the end removes it', async () => {
    const { dir, keyFile } = copy();
    const during = await openVault({ dir, keyFile, now: () => MADE_AT + DAY, configDir: tempDir('agent-vault-golden-config-') });
    const [agent] = await during.listAgents();
    expect(agent).toMatchObject({ id: GRACE_AGENT.id, generation: 2, previous: { generation: 1 } });
    expect(agent!.previous!.until.getTime()).toBeLessThan(GRACE_ENDS_BY);
    await during.close();
    const after = await openVault({ dir, keyFile, now: () => GRACE_ENDS_BY, configDir: tempDir('agent-vault-golden-config-') });
    expect((await after.listAgents())[0]!.previous).toBeUndefined();
    await after.set('another', 'x');
    expect(await read(dir, tokens.before, MADE_AT + DAY)).toBe('rotated');
    expect(await read(dir, tokens.after, GRACE_ENDS_BY)).toBe(GRACE_SECRET.value);
  });
});
