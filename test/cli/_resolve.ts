/**
 * An agent process: reads its token from stdin, opens the vault with the BUILT package (dist/),
 * resolves one secret and prints the SHA-256 of the value (never the value), or the error code.
 * Usage: node _resolve.ts PACKAGE_ENTRY VAULT_DIR NAME < token
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const [entry, dir, name] = process.argv.slice(2) as [string, string, string];
const { openVault } = (await import(pathToFileURL(entry).href)) as typeof import('../../src/index.ts');
const token = readFileSync(0, 'utf8').trim();
try {
  const vault = await openVault({ dir, token });
  try {
    const sha256 = await vault.use(name, (secret) => createHash('sha256').update(secret.bytes).digest('hex'));
    process.stdout.write(`${JSON.stringify({ ok: true, sha256 })}\n`);
  } finally {
    await vault.close();
  }
} catch (error) {
  const { code, reason } = error as { code?: string; reason?: string };
  process.stdout.write(`${JSON.stringify({ ok: false, code, reason })}\n`);
}
