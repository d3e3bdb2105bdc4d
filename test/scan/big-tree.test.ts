import { describe, expect, it } from 'vitest';
import { initCrypto } from '../../src/crypto.ts';
import { scan } from '../../src/scan/index.ts';
import { runCli } from '../cli/_cli.ts';
import { tempDir } from '../_fixtures/index.ts';
import { makeBigTree } from './_big-tree.ts';

// The time is printed by `node bench/scan.ts`, not asserted: a loaded machine is slower.
describe('scan over a 10,000-file monorepo', () => {
  const root = tempDir('agent-vault-big-');
  const tree = makeBigTree(root);

  it('finds every key and nothing else, in-process and through the CLI', async () => {
    await initCrypto();
    expect(tree.files).toBe(10_000);
    const { findings } = scan({ paths: [root], environment: false, home: false });
    expect(findings.map((finding) => finding.value()).sort()).toEqual([...tree.keys].sort());
    const result = await runCli(['scan', root, '--no-home', '--no-environment', '--no-vault', '--json'], { cwd: root });
    expect(result.code).toBe(0);
    expect((JSON.parse(result.stdout) as { findings: unknown[] }).findings).toHaveLength(tree.keys.length);
  });
});
