import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');

it('examples/custom-backend.ts passes the conformance suite and serves a vault', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, [join(root, 'examples', 'custom-backend.ts')], { cwd: root });
  expect(stdout).toMatch(/✔ backend conformance/);
  expect(stdout).toMatch(/✔ stores, grants and resolves a secret/);
  expect(stdout).toMatch(/ℹ fail 0/);
  expect(Number(/ℹ pass (\d+)/.exec(stdout)?.[1])).toBeGreaterThanOrEqual(10);
});
