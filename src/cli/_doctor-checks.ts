/**
 * The checks behind `agent-vault doctor`: what undoes the vault's protection on this machine
 * (keys still in the environment or in .env files, files others can read, a vault git could
 * commit, a token in a variable) and whether the runtime and SDKs fit. Read-only: nothing is
 * unlocked or written, and no value is ever printed, only variable names, paths and modes.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { scan } from '../scan/index.ts';

export interface Finding {
  check: string;
  status: 'ok' | 'warn';
  message: string;
}

const ok = (check: string, message: string): Finding => ({ check, status: 'ok', message });
const warn = (check: string, message: string): Finding => ({ check, status: 'warn', message });

/**
 * Plaintext keys still in the environment and in the project's files, found by `scan` (which
 * `agent-vault scan` shows in full and `agent-vault import` moves into the vault).
 */
export function plaintextKeys(cwd: string, env: NodeJS.ProcessEnv): Finding[] {
  const { findings } = scan({ paths: [cwd], env, home: false });
  const inEnv = findings.filter((f) => f.kind === 'environment').map((f) => f.variable as string);
  const inFiles = findings.filter((f) => f.kind !== 'environment').map((f) => `${f.path}:${f.line ?? '?'}${f.variable ? ` ${f.variable}` : ''}`);
  return [
    inEnv.length === 0
      ? ok('environment', 'No provider key is set in this shell.')
      : warn('environment', `${inEnv.join(', ')} ${inEnv.length === 1 ? 'holds a key' : 'hold keys'} in this shell: move ` +
        'them into the vault (`agent-vault import`), then unset them and remove them from your shell profile.'),
    inFiles.length === 0
      ? ok('files', 'No plaintext key in the files here (.env, configs).')
      : warn('files', `A plaintext key is still in: ${inFiles.join(', ')}. Any dependency can read those files: ` +
        '`agent-vault import` moves the keys into the vault and rewrites the files.'),
  ];
}

/** Loose modes on the vault directory, its files, and the credential files named in the environment. */
export function permissions(vaultDir: string | undefined, env: NodeJS.ProcessEnv, keyFile: string | undefined): Finding {
  if (process.platform === 'win32') return ok('permissions', 'Not checked on Windows (no POSIX modes).');
  const loose: string[] = [];
  const check = (path: string, mask: number) => {
    const mode = safeMode(path);
    if (mode !== undefined && (mode & mask) !== 0) loose.push(`${path} (${(mode & 0o777).toString(8).padStart(4, '0')})`);
  };
  if (vaultDir && existsSync(vaultDir)) {
    check(vaultDir, 0o077);
    // The .gitignore holds nothing secret; everything else in the directory is the vault.
    for (const name of safeList(vaultDir).filter((file) => file !== '.gitignore')) check(join(vaultDir, name), 0o077);
  }
  if (env.AGENT_VAULT_AUDIT_DIR) check(env.AGENT_VAULT_AUDIT_DIR, 0o022);
  if (env.AGENT_VAULT_PASSPHRASE_FILE) check(env.AGENT_VAULT_PASSPHRASE_FILE, 0o077);
  if (env.AGENT_VAULT_TOKEN_FILE) check(env.AGENT_VAULT_TOKEN_FILE, 0o027);
  if (keyFile) check(keyFile, 0o077);
  return loose.length === 0
    ? ok('permissions', 'The vault and the credential files are private to their owner.')
    : warn('permissions', `Readable or writable by others: ${loose.join(', ')}. Run chmod 700 on directories, 600 on files.`);
}

/** A vault inside a git work tree is one `git add -A` from being pushed, unless ignored. */
export function gitWorkTree(vaultDir: string | undefined): Finding {
  if (!vaultDir || !existsSync(vaultDir)) return ok('git', 'No vault directory to check.');
  let root: string | undefined;
  for (let dir = vaultDir; ; dir = dirname(dir)) {
    if (existsSync(join(dir, '.git'))) {
      root = dir;
      break;
    }
    if (dirname(dir) === dir) break;
  }
  if (!root) return ok('git', 'The vault is not inside a git work tree.');
  const ignore = safeRead(join(vaultDir, '.gitignore')).split('\n').map((line) => line.trim());
  return ignore.includes('*')
    ? ok('git', `The vault is inside the git work tree ${root}, and its .gitignore keeps it out of commits.`)
    : warn('git', `The vault is inside the git work tree ${root} and not ignored: a commit would publish it, and the ` +
      `ciphertext plus one leaked token is every secret that token can read. Run: echo '*' > ${join(vaultDir, '.gitignore')}`);
}

export function tokenInVariable(env: NodeJS.ProcessEnv): Finding {
  return env.AGENT_VAULT_TOKEN
    ? warn('agent token', 'AGENT_VAULT_TOKEN is set in this shell: every process started from it inherits the token. ' +
      'Put it in a file (chmod 600) and set AGENT_VAULT_TOKEN_FILE instead; agents re-read the file when it is rotated.')
    : ok('agent token', env.AGENT_VAULT_TOKEN_FILE ? 'The agent token comes from AGENT_VAULT_TOKEN_FILE.' : 'No agent token in this shell.');
}

export function nodeVersion(version = process.versions.node): Finding {
  const major = Number(version.split('.')[0]);
  return major >= 22
    ? ok('node', `Node.js ${version} (22 or later is supported).`)
    : warn('node', `Node.js ${version}: agent-vault needs 22 or later.`);
}

/** The SDK versions the project in `cwd` would load, against the ranges this package supports. */
export function sdkVersions(cwd: string, supported: Record<string, string>): Finding[] {
  return Object.entries(supported).map(([name, range]) => {
    // Found as Node finds it, by node_modules up the tree (an SDK's exports may hide package.json).
    const version = installedVersion(cwd, name);
    if (version === undefined) return ok(name, `${name} is not installed here (needed only by its agent-vault adapter).`);
    const fits = satisfiesMajor(version, range);
    return fits
      ? ok(name, `${name} ${version} (supported: ${range}).`)
      : warn(name, `${name} ${version} is outside the supported range ${range}: npm install ${name}@latest`);
  });
}

function installedVersion(cwd: string, name: string): string | undefined {
  for (let dir = cwd; ; dir = dirname(dir)) {
    const text = safeRead(join(dir, 'node_modules', name, 'package.json'));
    if (text) return (JSON.parse(text) as { version?: string }).version;
    if (dirname(dir) === dir) return undefined;
  }
}

/** Enough of semver for our peer ranges: `^A.B.C || ...` and `>=A.B.C <D`. */
function satisfiesMajor(version: string, range: string): boolean {
  const parse = (text: string) => text.replace(/^[^\d]*/, '').split('.').map((part) => Number.parseInt(part, 10) || 0);
  const [major = 0, minor = 0, patch = 0] = parse(version);
  const at = major * 1e6 + minor * 1e3 + patch;
  const value = (text: string) => {
    const [a = 0, b = 0, c = 0] = parse(text);
    return a * 1e6 + b * 1e3 + c;
  };
  return range.split('||').some((alternative) => alternative.trim().split(/\s+/).every((part) => {
    if (part.startsWith('^')) return major === parse(part)[0] && at >= value(part);
    if (part.startsWith('>=')) return at >= value(part);
    if (part.startsWith('<')) return at < value(part);
    return true;
  }));
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function safeRead(path: string): string {
  try {
    return statSync(path).isFile() && statSync(path).size < 1_048_576 ? readFileSync(path, 'utf8') : '';
  } catch {
    return '';
  }
}

function safeMode(path: string): number | undefined {
  try {
    return statSync(path).mode;
  } catch {
    return undefined;
  }
}
