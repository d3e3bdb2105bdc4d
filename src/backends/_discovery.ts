/**
 * Finding the vault directory when none is named, and the rule every vault directory must meet
 * (named or found): nobody but this user can have planted it or can rewrite it.
 */
import { type Stats, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { BackendError } from '../errors.ts';
import { unsafeBecause } from '../_fs.ts';

/** Where the vault lives when no directory is given; see `FileBackendOptions.dir` and discoverVaultDir. */
export function defaultVaultDir(options: DiscoveryOptions = {}): string {
  return discoverVaultDir(options).dir;
}

export interface DiscoveryOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  home?: string;
}

/**
 * The vault directory, and every path looked at to find it (for the errors): `AGENT_VAULT_DIR`,
 * else the nearest `.agent-vault/` from the working directory up, else `~/.agent-vault`.
 *
 * The walk up stops at the home directory (a directory above it is not the user's to trust) and
 * where the file system changes (a mount is someone else's tree), and a `.agent-vault` found on
 * the way that anyone else could have planted or can rewrite (checkVaultDir) is refused with an
 * error, never skipped: skipping would let a planted directory decide which vault is used.
 */
export function discoverVaultDir(options: DiscoveryOptions = {}): { dir: string; searched: string[] } {
  const env = options.env ?? process.env;
  const cwd = resolve(options.cwd ?? process.cwd());
  const home = resolve(options.home ?? homedir());
  const fromEnv = env['AGENT_VAULT_DIR'];
  if (fromEnv) return { dir: resolve(cwd, fromEnv), searched: [] };
  const searched: string[] = [];
  let device = statQuietly(cwd)?.dev;
  for (let dir = cwd; ; dir = dirname(dir)) {
    const candidate = join(dir, '.agent-vault');
    searched.push(candidate);
    const found = statQuietly(candidate);
    if (found?.isDirectory()) {
      checkVaultDir(candidate, found, searched);
      return { dir: candidate, searched };
    }
    const parent = dirname(dir);
    if (dir === home || parent === dir) break;
    const parentDevice = statQuietly(parent)?.dev;
    if (parentDevice !== device) break;
    device = parentDevice;
  }
  const fallback = join(home, '.agent-vault');
  if (!searched.includes(fallback)) searched.push(fallback);
  return { dir: fallback, searched };
}

/**
 * Refuse a vault directory that another user could have planted or can rewrite, as OpenSSH's
 * StrictModes refuses ~/.ssh: it must be owned by this user (or root) and writable by nobody
 * else, and so must the directory holding it unless that one is sticky (like /tmp, where nobody
 * can rename another's entry). The check runs on what the path resolves to.
 */
export function checkVaultDir(dir: string, stats = statQuietly(dir), searched: string[] = [dir]): void {
  if (!stats) return;
  const refuse = (path: string, why: string) => new BackendError(
    `Refusing the vault directory ${dir}: ${path === dir ? why : `its parent ${path} ${why.replace(/^it /, '')}`}, so ` +
      `another user could have planted it or can change it. ${path === dir
        ? `Make it this user's and private (chown, then chmod 700 ${dir})`
        : `Remove group and other write access from the parent (chmod go-w ${path})`}, or set AGENT_VAULT_DIR to a ` +
      `private directory. Looked at: ${searched.join(', ')}.`,
  );
  if (!stats.isDirectory()) return;
  const own = unsafeBecause(stats);
  if (own) throw refuse(dir, own);
  const parent = dirname(dir);
  const parentStats = parent === dir ? undefined : statQuietly(parent);
  if (parentStats && (parentStats.mode & 0o1000) === 0) {
    const why = unsafeBecause(parentStats);
    if (why) throw refuse(parent, why);
  }
}

function statQuietly(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}
