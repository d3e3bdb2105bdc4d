/**
 * Hidden prompts and stdin. Prompts use the terminal even when stdin is a pipe (as ssh and gpg
 * do), so `printf %s "$KEY" | agent-vault set NAME` can still ask for the passphrase.
 */
import { closeSync, openSync } from 'node:fs';
import { ReadStream, WriteStream } from 'node:tty';
import { read } from 'read';
import { UsageError } from '../errors.ts';

/** Ctrl-C at a prompt: not an error of the vault, exit code 130 like a shell. */
export class CancelledError extends Error {
  constructor() {
    super('Cancelled.');
  }
}

interface Terminal {
  input: NodeJS.ReadableStream & { isTTY?: boolean };
  output: NodeJS.WritableStream & { isTTY?: boolean };
  close(): void;
}

/** stdin and stderr when both are the terminal, else /dev/tty; undefined when there is none. */
function openTerminal(): Terminal | undefined {
  if (process.stdin.isTTY && process.stderr.isTTY) {
    return { input: process.stdin, output: process.stderr, close: () => undefined };
  }
  if (process.platform === 'win32') return undefined;
  let readFd: number | undefined;
  try {
    readFd = openSync('/dev/tty', 'r');
    const writeFd = openSync('/dev/tty', 'w');
    const input = new ReadStream(readFd);
    const output = new WriteStream(writeFd);
    return {
      input,
      output,
      close: () => {
        input.destroy();
        output.destroy();
      },
    };
  } catch {
    if (readFd !== undefined) closeSync(readFd);
    return undefined;
  }
}

/**
 * Ask on the terminal without echo. `noTerminal` says what to do instead when there is no
 * terminal (a CI job, a pipe with no controlling terminal).
 */
export function promptHidden(question: string, noTerminal: string): Promise<string> {
  return ask(question, noTerminal, true);
}

/** A yes/no question on the terminal (echoed); anything but `y` or `yes` is no. */
export async function confirm(question: string, noTerminal: string): Promise<boolean> {
  return /^y(es)?$/i.test((await ask(`${question} [y/N] `, noTerminal, false)).trim());
}

async function ask(question: string, noTerminal: string, silent: boolean): Promise<string> {
  const terminal = openTerminal();
  if (!terminal) throw new UsageError(`No terminal to ask on. ${noTerminal}`);
  try {
    const answer = await read({ prompt: question, silent, replace: '', input: terminal.input, output: terminal.output });
    if (silent) terminal.output.write('\n'); // the Enter key was not echoed either
    return answer;
  } catch (error) {
    terminal.output.write('\n');
    if (error instanceof Error && error.message === 'canceled') throw new CancelledError();
    throw error;
  } finally {
    terminal.close();
  }
}

/** All of stdin as bytes; the caller wipes them. */
export async function readStdin(limitBytes: number): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      length += chunk.length;
      if (length > limitBytes) {
        throw new UsageError(`The value on stdin is longer than ${limitBytes} bytes; nothing was stored.`);
      }
    }
    const bytes = new Uint8Array(length);
    let offset = 0;
    for (const chunk of chunks) {
      bytes.set(chunk, offset);
      offset += chunk.length;
    }
    return bytes;
  } finally {
    for (const chunk of chunks) chunk.fill(0);
  }
}

/** Without one trailing newline (`echo` adds one; a value that needs it is rare). */
export function withoutTrailingNewline(bytes: Uint8Array): Uint8Array {
  let end = bytes.length;
  if (bytes[end - 1] === 0x0a) end -= 1;
  if (end < bytes.length && bytes[end - 1] === 0x0d) end -= 1;
  return bytes.subarray(0, end);
}
