import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { canUseTerminal, runInTerminal } from '../cli/_cli.ts';
import { tempDir, testVault } from '../_fixtures/index.ts';
import { randomText } from './_tree.ts';

describe.skipIf(!canUseTerminal)('import asks on the terminal before changing anything', () => {
  it('changes nothing on "n", imports on "y"', async () => {
    const root = tempDir('agent-vault-confirm-');
    const keyFile = join(root, 'owner.key');
    const vaultDir = join(root, 'vault');
    await (await testVault({ dir: vaultDir, keyFile })).close();
    const key = `sk-proj-${randomText(48)}`;
    const dotenv = `OPENAI_API_KEY=${key}\n`;
    writeFileSync(join(root, '.env'), dotenv);
    const args = ['import', '--no-home', '--no-environment', '--dir', vaultDir, '--key-file', keyFile];

    const declined = await runInTerminal(args, ['n'], { cwd: root });
    expect(declined.output).toContain('rewrite these files? [y/N]');
    expect(declined.output).toContain('Nothing was changed.');
    expect(readFileSync(join(root, '.env'), 'utf8')).toBe(dotenv);

    const accepted = await runInTerminal(args, ['y'], { cwd: root });
    expect(accepted.code, accepted.output).toBe(0);
    expect(readFileSync(join(root, '.env'), 'utf8')).toMatch(/^# OPENAI_API_KEY: moved to agent-vault/);
    expect(declined.output + accepted.output).not.toContain(key.slice(8));
  });
});
