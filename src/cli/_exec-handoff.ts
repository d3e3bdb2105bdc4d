/**
 * `exec` in two images of one process. The command exec runs is the same OS user, so it can
 * read `/proc/<exec's pid>/environ` and `cmdline`, which keep what exec was started with
 * (AGENT_VAULT_TOKEN, the path of a token, passphrase or key file) however `process.env` is
 * changed afterwards. So the first image reads the credential, writes what the session needs to
 * a 0600 file in a fresh 0700 directory, and replaces itself (`process.execve`: same pid, so the
 * shell still waits on it) with a clean environment and a command line of `exec -- COMMAND`
 * only. The second image reads and unlinks that file before it starts the broker or the child,
 * so nothing left in exec's /proc entries opens the vault.
 *
 * What this cannot hide from the same user: exec's memory (`/proc/<pid>/mem`, ptrace, unless
 * Yama's ptrace_scope is 1 or more), and any credential file that stays readable. The README
 * and `exec --help` say so; the long-running broker as another OS user is the answer to both.
 */
import { lstatSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Route } from '../broker/index.ts';
import { UsageError } from '../errors.ts';

/** Names the handoff file in the second image's environment: a path that is gone before any child runs. */
export const HANDOFF_ENV = 'AGENT_VAULT_EXEC_HANDOFF';

/** What the second image needs to run the session. */
export interface Handoff {
  dir: string;
  /** The agent token the broker opens the vault with (owner mode: the temporary agent's). */
  token: string;
  ttl: string;
  /** Every known route (their variables are removed from the child) ... */
  routes: Route[];
  /** ... and the names of those served. */
  served: string[];
  /** Owner mode: the temporary agent, revoked at the end with the owner's unlock. */
  temporary?: { agentId: string; passphrase?: string; keyFile?: string };
}

/**
 * Replace this process with a clean image of exec that continues from `handoff`. Returns false
 * (and writes nothing) where the runtime cannot (no `process.execve`: Windows, Node < 22.15);
 * then the caller runs the session in this image, as before.
 */
export function reexecWith(handoff: Handoff, command: string[], env: NodeJS.ProcessEnv): boolean {
  const execve = (process as { execve?: (file: string, args: string[], env: NodeJS.ProcessEnv) => never }).execve;
  if (typeof execve !== 'function' || process.platform === 'win32' || process.argv[1] === undefined) return false;
  const dir = privateDirectory();
  const file = join(dir, 'session.json');
  try {
    writeFileSync(file, JSON.stringify(handoff), { mode: 0o600, flag: 'wx' });
    execve.call(process, process.execPath, [process.execPath, ...process.execArgv, process.argv[1], 'exec', '--', ...command], {
      ...env, [HANDOFF_ENV]: file,
    });
  } catch (cause) {
    rmSync(dir, { recursive: true, force: true });
    throw cause;
  }
  return true; // not reached: execve replaced this image
}

/**
 * In the second image: the handoff, read and deleted (file and directory), or undefined when
 * this is the first image. Refuses a file that is not this user's private regular file.
 */
export function takeHandoff(): Handoff | undefined {
  const file = process.env[HANDOFF_ENV];
  if (file === undefined) return undefined;
  delete process.env[HANDOFF_ENV];
  const dir = dirname(file);
  let info;
  let parent;
  try {
    info = lstatSync(file);
    parent = lstatSync(dir);
  } catch (cause) {
    throw new UsageError(`exec could not find its own session file (${(cause as NodeJS.ErrnoException).code}); run exec again.`);
  }
  const ours = (stat: { uid: number }) => typeof process.getuid !== 'function' || stat.uid === process.getuid();
  // Checked before anything is deleted: a variable pointing elsewhere must not make exec remove a file.
  if (!info.isFile() || (info.mode & 0o077) !== 0 || !ours(info) || !parent.isDirectory() || (parent.mode & 0o077) !== 0 || !ours(parent)) {
    throw new UsageError(`${HANDOFF_ENV} names a file exec did not make. Unset it: exec sets it only for itself, when it re-executes.`);
  }
  const bytes = readFileSync(file);
  rmSync(file);
  rmdirSync(dir);
  try {
    return JSON.parse(bytes.toString('utf8')) as Handoff;
  } catch {
    throw new UsageError('exec could not read its own session file; run exec again.');
  } finally {
    bytes.fill(0);
  }
}

/** A fresh 0700 directory, preferring memory-backed ones (the file holds a token for a moment). */
function privateDirectory(): string {
  for (const base of [process.env.XDG_RUNTIME_DIR, '/dev/shm', tmpdir()]) {
    if (!base) continue;
    try {
      return mkdtempSync(join(base, 'agent-vault-exec-')); // mkdtemp makes it 0700
    } catch {
      // not writable here: the next one
    }
  }
  throw new UsageError(`exec found no writable temporary directory (tried XDG_RUNTIME_DIR, /dev/shm, ${tmpdir()}); set TMPDIR.`);
}
