/**
 * The CLI's command table does not load the broker's server: an ESM import of node:http runs its
 * lazy undici getter (~25-45 ms of CPU), which every `agent-vault` start, `--version` included,
 * paid. Only `exec` and `broker` load it, when they run. Proved on the built CLI in a child
 * process where node:http, node:https and node:http2 cannot be imported.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI_ENTRY, cleanEnv } from './_cli.ts';

function withoutHttp(args: string[]) {
  const home = mkdtempSync(join(tmpdir(), 'agent-vault-lazy-cli-'));
  return spawnSync(process.execPath, ['--import', join(import.meta.dirname, '_block-http.ts'), CLI_ENTRY, ...args], {
    cwd: home, env: cleanEnv(home), encoding: 'utf8',
  });
}

describe('the CLI loads the broker server only for the commands that start one', () => {
  const lines = [['--version'], ['--help'], ['exec', '--help'], ['broker', '--help'], ['broker', 'key', 'list', '--help'], ['completion', 'bash']];
  it.each(lines.map((args) => [args.join(' '), args] as const))(
    '`agent-vault %s` runs without node:http',
    (_, args) => {
      const result = withoutHttp(args);
      expect(result.stderr).not.toMatch(/blocked/);
      expect(result.status).toBe(0);
      expect(result.stdout.length).toBeGreaterThan(0);
    },
  );

  it('and the block is real: `exec` needs node:http and fails without it', () => {
    const result = withoutHttp(['exec', '--', 'true']);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/blocked (node:)?https?/);
  });
});
