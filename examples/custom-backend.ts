/**
 * A complete storage backend in about 30 lines: one JSON file per key in a directory. It passes
 * the same conformance suite as the built-in backends, run here with Node's own test runner.
 *
 *   npm run example:custom-backend
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { type Backend, createVault, openVault } from 'agent-vault';
import { fileAuditSink } from 'agent-vault/audit-file';
import { backendConformance } from 'agent-vault/testing';

export function jsonDirectoryBackend(dir: string): Backend {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // File names are a hash of the key (safe and short on every file system); the key is inside.
  const path = (key: string) => join(dir, `${createHash('sha256').update(key).digest('hex')}.json`);
  const read = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as { key: string; value: string };
  return {
    name: 'json-directory',
    async get(key) {
      try {
        return new Uint8Array(Buffer.from(read(path(key)).value, 'base64'));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      }
    },
    async set(key, value) {
      // Write aside, then rename: readers see the old file or the new one, never half of one.
      const temp = `${path(key)}.${process.pid}.tmp`;
      writeFileSync(temp, JSON.stringify({ key, value: Buffer.from(value).toString('base64') }), { mode: 0o600 });
      renameSync(temp, path(key));
    },
    async delete(key) {
      rmSync(path(key), { force: true });
    },
    async list(prefix) {
      return readdirSync(dir)
        .filter((file) => file.endsWith('.json'))
        .map((file) => read(join(dir, file)).key)
        .filter((key) => key.startsWith(prefix));
    },
  };
}

const root = mkdtempSync(join(tmpdir(), 'agent-vault-custom-backend-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

// This backend leaves out the optional capabilities; the suite then does not test them.
backendConformance({ describe, it }, () => jsonDirectoryBackend(join(root, `conformance-${n++}`)), {
  without: ['compareAndSwap', 'withLock', 'close'],
});

describe('a vault on the custom backend', () => {
  it('stores, grants and resolves a secret', async () => {
    const backend = jsonDirectoryBackend(join(root, 'vault'));
    // This backend brings no audit sink of its own, so the vault needs one (or `audit: false`).
    const audit = fileAuditSink({ dir: join(root, 'vault') });
    const owner = await createVault({ backend, audit, keyFile: join(root, 'owner.key') });
    await owner.set('openai-api-key', 'sk-example-key');
    const { token } = await owner.createAgent('research-bot', { allow: ['openai-*'], ttl: '1h' });
    const agent = await openVault({ backend, audit, token });
    const length = await agent.use('openai-api-key', (secret) => secret.length);
    if (length !== 'sk-example-key'.length) throw new Error(`resolved ${length} bytes`);
  });
});
