import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');

it('examples/supply-chain-attack.ts: env keys are harvested; with agent-vault only a scoped token is', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, [join(root, 'examples', 'supply-chain-attack.ts')], { cwd: root });
  const [, envPart, vaultPart, tokenPart, auditPart] = stdout.split(/\n── \d\. /);
  // The usual way: every provider key leaves with the harvest.
  for (const name of ['OPENAI_API_KEY', 'ANTHROPIC_API_KEY', 'DATABASE_URL']) expect(envPart).toContain(`✗ ${name} = `);
  // agent-vault: no provider key, a token and ciphertext only; the agent still did its job.
  expect(vaultPart).toContain('the agent did its job');
  expect(vaultPart).not.toMatch(/OPENAI_API_KEY|ANTHROPIC_API_KEY|DATABASE_URL/);
  expect(vaultPart).toMatch(/an agent-vault token avt_/);
  expect(vaultPart).toContain('provider keys in plaintext: none');
  // The stolen token: its grant only, refused after revocation.
  expect(tokenPart).toMatch(/openai-api-key\s+readable/);
  expect(tokenPart).toMatch(/anthropic-api-key\s+refused: ACCESS_DENIED \(not-granted\)/);
  expect(tokenPart).toMatch(/database-url\s+refused: ACCESS_DENIED \(not-granted\)/);
  expect(tokenPart).toContain('revoke research-bot`: ACCESS_DENIED (revoked)');
  expect(auditPart).toMatch(/agent:research-bot\s+secret\.resolve\s+openai-api-key\s+denied\s+revoked/);
  // No made-up key value is ever printed in full.
  expect(stdout).not.toMatch(/sk-proj-[0-9a-f]{40}/);
});
