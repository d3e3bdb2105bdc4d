/**
 * Running the command `exec` wraps: its own stdio (inherited), every catchable signal forwarded
 * to it, and its exit status as ours (128 + the signal's number when a signal ended it, as shells
 * report it).
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { UsageError } from '../errors.ts';

const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'] as const;

export function runChild(command: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command[0]!, command.slice(1), { stdio: 'inherit', env });
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    for (const signal of FORWARDED) process.on(signal, forward);
    const stop = () => {
      for (const signal of FORWARDED) process.off(signal, forward);
    };
    child.once('error', (error: NodeJS.ErrnoException) => {
      stop();
      reject(error.code === 'ENOENT' || error.code === 'EACCES'
        ? new UsageError(`Cannot run ${JSON.stringify(command[0]).slice(0, 80)} (${error.code}): check the command name and PATH.`)
        : error);
    });
    child.once('exit', (code, signal) => {
      stop();
      resolve(code ?? 128 + (signal ? constants.signals[signal] : 0));
    });
  });
}
