// A child process for the vault-level process tests; plain `node _vault-worker.ts` runs it.
// Usage: node _vault-worker.ts <dir> resolve <name>          (agent; token in AGENT_VAULT_TOKEN)
//                              <dir> set-many <keyFile> <prefix> <count>
//                              <dir> bump <keyFile> <count>  (sets one shared name)
//                              <dir> churn <keyFile>         (rewrites 3 secrets forever)
import { openVault } from '../../src/index.ts';

const [dir, mode, ...args] = process.argv.slice(2);
if (!dir) throw new Error('usage: _vault-worker.ts <dir> <mode> ...');

if (mode === 'resolve') {
  const vault = await openVault({ dir, audit: false });
  process.stdout.write(`${process.env.AGENT_VAULT_TOKEN === undefined ? 'env-cleared' : 'env-kept'}\n`);
  process.stdout.write(`${await vault.get(args[0]!)}\n`);
} else if (mode === 'set-many') {
  const [keyFile, prefix, count] = args as [string, string, string];
  const vault = await openVault({ dir, keyFile, audit: false });
  for (let i = 0; i < Number(count); i++) await vault.set(`${prefix}-${i}`, `value-${prefix}-${i}`);
} else if (mode === 'bump') {
  // Read-modify-write: each set of one name makes a new version; none may be lost.
  const [keyFile, count] = args as [string, string];
  const vault = await openVault({ dir, keyFile, audit: false });
  for (let i = 0; i < Number(count); i++) await vault.set('shared', `${process.pid}-${i}`);
} else if (mode === 'churn') {
  const vault = await openVault({ dir, keyFile: args[0]!, audit: false });
  for (let i = 0; ; i++) {
    // Self-checking values: a torn or mixed value would not have this shape.
    await vault.set(`churn-${i % 3}`, `${i}:${String(i).repeat(200)}`);
    if (i === 0) process.stdout.write('started\n');
  }
} else {
  throw new Error(`unknown mode ${mode}`);
}
