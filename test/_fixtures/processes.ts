/** Child processes in tests: wait for one to print a line, or to exit. */
import type { ChildProcess } from 'node:child_process';

/** Resolves once `child` has printed `text` on stdout; rejects, with its stderr, if it ends first. */
export function printed(child: ChildProcess, text: string): Promise<void> {
  let stdout = '';
  let stderr = '';
  child.stderr?.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (chunk) => {
      stdout += chunk;
      if (stdout.includes(text)) resolve();
    });
    // 'close', not 'exit': only then has everything it printed been read.
    child.on('close', (code) => reject(new Error(`child exited (${code}) before printing ${text}: ${stderr}`)));
  });
}

/** The child's exit code (null when a signal ended it). */
export function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.on('exit', (code) => resolve(code)));
}
