/**
 * Capture everything a process prints while a scenario runs: every console method (arguments
 * inspected in full, so nested objects are searched too), direct writes to stdout and stderr,
 * and an SDK `logger` for `logLevel: 'debug'`.
 *
 * Plain replacement functions, not vitest spies: a spy keeps every call's arguments, and a client
 * whose logger is `console` would then show them when inspected.
 */
import { inspect } from 'node:util';

const FULL = { depth: Infinity, showHidden: true, maxArrayLength: Infinity, maxStringLength: Infinity } as const;
const render = (args: unknown[]) => args.map((arg) => (typeof arg === 'string' ? arg : inspect(arg, FULL))).join(' ');
const CONSOLE_METHODS = ['log', 'debug', 'info', 'warn', 'error', 'trace', 'dir'] as const;

/** A logger of the shape openai and @anthropic-ai/sdk accept (`{ debug, info, warn, error }`). */
export function captureLogger(lines: string[], prefix = 'logger'): Record<'debug' | 'info' | 'warn' | 'error', (...args: unknown[]) => void> {
  const log = (level: string) => (...args: unknown[]) => void lines.push(`${prefix}.${level} ${render(args)}`);
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

/**
 * Run `fn` with console and stdout/stderr captured and `env` set (restored afterwards). What was
 * printed goes to `lines`, also when `fn` throws.
 */
export async function capturing<T>(lines: string[], env: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const savedEnv = Object.fromEntries(Object.keys(env).map((name) => [name, process.env[name]]));
  Object.assign(process.env, env);
  const savedConsole = CONSOLE_METHODS.map((method) => [method, console[method]] as const);
  for (const method of CONSOLE_METHODS) {
    console[method] = (...args: unknown[]) => void lines.push(`console.${method} ${render(args)}`);
  }
  const streams = [[process.stdout, 'stdout'], [process.stderr, 'stderr']] as const;
  const savedWrites = streams.map(([stream]) => stream.write);
  for (const [stream, label] of streams) {
    stream.write = ((chunk: unknown) => {
      lines.push(`${label} ${typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('latin1')}`);
      return true;
    }) as typeof stream.write;
  }
  try {
    return await fn();
  } finally {
    for (const [method, original] of savedConsole) console[method] = original as never;
    streams.forEach(([stream], i) => (stream.write = savedWrites[i]!));
    for (const [name, value] of Object.entries(savedEnv)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}
