/**
 * A long-running agent process: opens the vault with the BUILT package (dist/) from its
 * environment (AGENT_VAULT_TOKEN_FILE or AGENT_VAULT_TOKEN, AGENT_VAULT_DIR, AGENT_VAULT_AUDIT_DIR),
 * then resolves the secret named on each stdin line and prints one JSON line: the SHA-256 of the
 * value (never the value), or the error's code, reason and message. Exits at the end of stdin.
 * Usage: node _agent-loop.ts PACKAGE_ENTRY
 */
import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';

const [entry] = process.argv.slice(2) as [string];
const { openVault } = (await import(pathToFileURL(entry).href)) as typeof import('../../src/index.ts');
const print = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);
try {
  const vault = await openVault();
  print({ opened: true });
  for await (const name of createInterface({ input: process.stdin })) {
    try {
      const sha256 = await vault.use(name, (secret) => createHash('sha256').update(secret.bytes).digest('hex'));
      print({ ok: true, sha256 });
    } catch (error) {
      const { code, reason, message } = error as { code?: string; reason?: string; message?: string };
      print({ ok: false, code, reason, message });
    }
  }
  await vault.close();
} catch (error) {
  const { code, message } = error as { code?: string; message?: string };
  print({ opened: false, code, message });
}
