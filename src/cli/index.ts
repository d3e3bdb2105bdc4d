#!/usr/bin/env node
/**
 * The `agent-vault` command: a thin shell over the public API (see `agent-vault --help`).
 * No top-level await: this entry is also built as CommonJS.
 */
import { main } from './_main.ts';

// EPIPE (`agent-vault list | head -1`): the reader has gone; that is not an error of ours.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
