/**
 * The attack agent-vault exists for, made runnable. A "malicious dependency" (_harvester.ts) is
 * preloaded with `node --import` before the agent's code and harvests the environment,
 * /proc/self/environ, credential files and vault directories. We run the same agent twice:
 * with its keys in environment variables, then with agent-vault; and then show what the
 * attacker can do with what it took.
 *
 *   npm run example:supply-chain-attack
 *
 * Everything runs locally: a fake $HOME, made-up keys, a stand-in provider, and a local
 * "attacker server" that receives the loot.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createVault, openVault, type Vault } from 'agent-vault';
import { startLocalProvider } from './_local-provider.ts';

const here = import.meta.dirname;
const root = mkdtempSync(join(tmpdir(), 'agent-vault-supply-chain-'));
const home = join(root, 'home');
const project = join(root, 'project');
mkdirSync(join(home, '.aws'), { recursive: true });
mkdirSync(project);

// Made-up credentials of the kinds harvesters look for.
const keys = {
  OPENAI_API_KEY: `sk-proj-${randomBytes(20).toString('hex')}`,
  ANTHROPIC_API_KEY: `sk-ant-api03-${randomBytes(20).toString('hex')}`,
  DATABASE_URL: `postgres://app:${randomBytes(8).toString('hex')}@db.internal:5432/app`,
};
writeFileSync(join(home, '.aws', 'credentials'), `[default]\naws_access_key_id = AKIA${randomBytes(8).toString('hex').toUpperCase()}\n`);

const provider = await startLocalProvider({ apiKey: keys.OPENAI_API_KEY });
const attacker = await startAttackerServer();
const mask = (value: string) => `${value.slice(0, 10)}…(${value.length} chars)`;
const heading = (text: string) => console.log(`\n── ${text} ${'─'.repeat(Math.max(0, 70 - text.length))}`);

async function runAgent(mode: 'env' | 'vault', env: Record<string, string>) {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', join(here, '_harvester.ts'), join(here, '_agent-app.ts'), mode],
    {
      cwd: project,
      env: { PATH: process.env.PATH ?? '', HOME: home, DEMO_EXFIL_URL: attacker.url, DEMO_BASE_URL: provider.openaiBaseURL, ...env },
    },
  );
  process.stdout.write(`  ${stdout}`);
  return attacker.take();
}

/** What a harvest holds that is worth something: every known key value found anywhere in it. */
function valuables(loot: Loot): string[] {
  const text = JSON.stringify({ env: loot.env, environ: loot.environ, files: loot.files });
  const found = Object.entries(keys).filter(([, value]) => text.includes(value)).map(([name, value]) => `${name} = ${mask(value)}`);
  for (const [path, content] of Object.entries(loot.files)) {
    if (path.includes('.aws')) found.push(`${path}: an AWS access key id`);
    if (content.startsWith('avt_')) found.push(`${path}: an agent-vault token ${mask(content.trim())}`);
  }
  if (loot.env.AGENT_VAULT_TOKEN) found.push(`AGENT_VAULT_TOKEN = ${mask(loot.env.AGENT_VAULT_TOKEN)}`);
  return found;
}

let owner: Vault | undefined;
try {
  heading('1. Keys in environment variables (the usual way)');
  const before = await runAgent('env', keys);
  console.log('  the preloaded dependency harvested:');
  for (const item of valuables(before)) console.log(`    ✗ ${item}`);

  heading('2. The same agent with agent-vault');
  // The owner, once: a vault in the project, three secrets, an agent allowed only openai-*.
  const vaultDir = join(project, '.agent-vault');
  owner = await createVault({ dir: vaultDir, keyFile: join(root, 'owner.key') });
  await owner.set('openai-api-key', keys.OPENAI_API_KEY);
  await owner.set('anthropic-api-key', keys.ANTHROPIC_API_KEY);
  await owner.set('database-url', keys.DATABASE_URL);
  const { token, agent } = await owner.createAgent('research-bot', { allow: ['openai-*'], ttl: '1h' });
  const tokenFile = join(home, 'research-bot.token');
  writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
  const after = await runAgent('vault', { AGENT_VAULT_TOKEN_FILE: tokenFile, AGENT_VAULT_DIR: vaultDir });
  console.log('  the preloaded dependency harvested:');
  for (const item of valuables(after)) console.log(`    • ${item}`);
  const copied = Object.values(after.vaultCopy).map((b64) => Buffer.from(b64, 'base64').toString('latin1')).join('');
  const plaintextInCopy = Object.values(keys).some((value) => copied.includes(value));
  console.log(`    • a copy of the vault directory: ${Object.keys(after.vaultCopy).length} files, ` +
    `provider keys in plaintext: ${plaintextInCopy ? 'YES' : 'none'}`);

  heading('3. What the stolen token can and cannot do');
  const stolen = Object.values(after.files).find((content) => content.startsWith('avt_'))!.trim();
  const asAttacker = await openVault({ dir: vaultDir, token: stolen });
  console.log(`  scope: agent "${agent.id}", allowed ${agent.allow.join(', ')}, expires ${agent.expiresAt.toISOString()}`);
  for (const name of ['openai-api-key', 'anthropic-api-key', 'database-url']) {
    const outcome = await asAttacker.use(name, (secret) => `readable (${secret.length} bytes) — and the read is audited`)
      .catch((error: { code: string; reason?: string }) => `refused: ${error.code}${error.reason ? ` (${error.reason})` : ''}`);
    console.log(`    ${name.padEnd(18)} ${outcome}`);
  }
  await owner.revokeAgent('research-bot');
  const revoked = await asAttacker.get('openai-api-key').catch((error: { code: string; reason?: string }) => `${error.code} (${error.reason})`);
  console.log(`  after \`agent-vault agent revoke research-bot\`: ${revoked}`);
  // Honest limit: a copy of the directory taken before the revocation still opens what was granted.
  const copyDir = join(root, 'stolen-copy');
  mkdirSync(copyDir);
  for (const [name, b64] of Object.entries(after.vaultCopy)) writeFileSync(join(copyDir, name), Buffer.from(b64, 'base64'));
  const offline = await openVault({ dir: copyDir, token: stolen, audit: false });
  const offlineOutcome = await offline.use('openai-api-key', () => 'still opens').catch(() => 'refused');
  const offlineOther = await offline.use('anthropic-api-key', () => 'opens').catch((e: { reason?: string }) => `refused (${e.reason})`);
  console.log(`  the stolen copy of the directory, offline: openai-api-key ${offlineOutcome}; anthropic-api-key ${offlineOther}`);
  console.log('    → so after a leak, revoke the agent AND rotate the one provider key it was granted.');

  heading('4. The audit trail (owner view)');
  for await (const record of owner.readAudit({ limit: 12 })) {
    const line = [record.time.slice(11, 19), record.actor.padEnd(20), record.action.padEnd(15), (record.name ?? '').padEnd(18), record.outcome, record.reason ?? ''];
    console.log(`  ${line.join('  ')}`);
  }

  heading('Summary');
  console.log(`  env vars:    ${valuables(before).length} credentials harvested, every key the agent had, valid until rotated by hand`);
  console.log('  agent-vault: one token, scoped to openai-*, expiring in 1h, revoked in one step, every use audited');
} finally {
  await owner?.close();
  await provider.close();
  await attacker.close();
  rmSync(root, { recursive: true, force: true });
}

interface Loot {
  env: Record<string, string>;
  environ: string[];
  files: Record<string, string>;
  vaultCopy: Record<string, string>;
}

/** The attacker's drop box: a local server that keeps the last harvest it received. */
async function startAttackerServer() {
  let last: Loot | undefined;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      last = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Loot;
      response.end('thanks');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/collect`,
    take: () => {
      if (!last) throw new Error('the harvester sent nothing');
      const loot = last;
      last = undefined;
      return loot;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
