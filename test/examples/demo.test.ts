import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');

it('npm run demo: calls reach the server with the real key, clients hold none, revocation and audit show', async () => {
  const { stdout, stderr } = await promisify(execFile)(process.execPath, [join(root, 'examples', 'demo.ts')], {
    cwd: root,
    env: { ...process.env, NO_COLOR: '1' },
  });
  expect(stderr).toBe('');
  expect(stdout).toContain('OpenAI chat.completions  → "Hello from the local stand-in provider."');
  expect(stdout).toContain('Anthropic messages (streamed) → "Hello from the local stand-in provider."');
  expect(stdout.match(/✓ the real key/g)).toHaveLength(2);
  expect(stdout).not.toContain('✗');
  // What was sent, as a header reads; and no claim that names are hidden next to a list of them.
  expect(stdout).toMatch(/\/v1\/chat\/completions +Authorization: Bearer sk-demo/);
  expect(stdout).not.toContain('Bearer:');
  expect(stdout).not.toContain('names are hashed');
  expect(stdout).toContain('no name or value in the clear');
  expect(stdout.match(/inspect\(client\) holds a key: no/g)).toHaveLength(2);
  expect(stdout).toMatch(/AccessDeniedError \(ACCESS_DENIED\): Agent "demo-agent" was revoked/);
  expect(stdout).toContain('requests that reached the server: 0');
  expect(stdout).toMatch(/agent:demo-agent\s+secret\.resolve\s+openai-api-key\s+denied revoked/);
  expect(stdout).toMatch(/audit verify: intact \(8 records/);
  // Keys are masked: no 40-hex run of a demo key is printed.
  expect(stdout).not.toMatch(/sk-(ant-)?demo-[0-9a-f]{20}/);
});
