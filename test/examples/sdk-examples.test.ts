/**
 * examples/openai.ts and examples/anthropic.ts, run as users run them: `node examples/<sdk>.ts`
 * against the built package (they import `agent-vault` and `agent-vault/<sdk>`), in local mode
 * (a throw-away vault and the stand-in provider).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
describe('the SDK examples', () => {
  for (const sdk of ['openai', 'anthropic']) {
    it(`examples/${sdk}.ts swaps in the vault client, calls, streams, and is refused once revoked`, async () => {
      const env = { ...process.env };
      for (const name of ['AGENT_VAULT_TOKEN', 'AGENT_VAULT_TOKEN_FILE', 'OPENAI_BASE_URL', 'ANTHROPIC_BASE_URL', 'OPENAI_API_KEY', 'ANTHROPIC_API_KEY']) {
        delete env[name];
      }
      const { stdout } = await promisify(execFile)(process.execPath, [join(root, 'examples', `${sdk}.ts`)], { cwd: root, env, timeout: 30_000 });
      expect(stdout).toContain('local mode: a throw-away vault');
      expect(stdout).toMatch(/^client\.apiKey: agent-vault-placeholder-[0-9a-f]{32}$/m);
      expect(stdout).toContain('reply: Hello from the local stand-in provider.');
      expect(stdout).toContain('streamed: Hello from the local stand-in provider.');
      expect(stdout).toContain('after revoke: ACCESS_DENIED (AccessDeniedError); requests sent: 0');
      expect(stdout).not.toMatch(/sk-(ant-)?local-/);
    });
  }
});
