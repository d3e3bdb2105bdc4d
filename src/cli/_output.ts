/**
 * Where output goes. stdout carries only what a command was asked to produce (a listing, a
 * token, a revealed value, JSON), so it can be piped; notes, hints and errors go to stderr.
 * Colour only on a terminal, never with NO_COLOR (https://no-color.org), forced by FORCE_COLOR.
 */
import type { Writable } from 'node:stream';

type Style = 'bold' | 'dim' | 'red' | 'green' | 'yellow';

const CODES: Record<Style, [number, number]> = {
  bold: [1, 22],
  dim: [2, 22],
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
};

function colorEnabled(stream: Writable & { isTTY?: boolean }, env = process.env): boolean {
  if (env.NO_COLOR) return false;
  if (env.FORCE_COLOR !== undefined) return env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false';
  return stream.isTTY === true && env.TERM !== 'dumb';
}

export class Output {
  readonly json: boolean;
  readonly #stdout: Writable & { isTTY?: boolean };
  readonly #stderr: Writable & { isTTY?: boolean };

  constructor(options: { json: boolean; stdout?: Writable; stderr?: Writable }) {
    this.json = options.json;
    this.#stdout = options.stdout ?? process.stdout;
    this.#stderr = options.stderr ?? process.stderr;
  }

  get stdoutIsTerminal(): boolean {
    return this.#stdout.isTTY === true;
  }

  /** The command's result: `data` as JSON with --json, else `text` (may be omitted for JSON-only). */
  result(data: unknown, text?: string): void {
    if (this.json) this.#stdout.write(`${safeJson(data, 2)}\n`);
    else if (text !== undefined) this.#stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  /** Text on stdout as it is, for results written piece by piece. */
  write(text: string): void {
    this.#stdout.write(text);
  }

  /** Raw bytes on stdout (a revealed value); resolves once the bytes are handed to the OS. */
  raw(bytes: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#stdout.write(bytes, (error) => (error ? reject(error) : resolve()));
    });
  }

  /** A message for the person at the terminal: stderr, never part of the result. */
  note(text: string): void {
    this.#stderr.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  /** Paint for stdout. */
  out(style: Style, text: string): string {
    return colorEnabled(this.#stdout) ? paint(style, text) : text;
  }

  /** Paint for stderr. */
  err(style: Style, text: string): string {
    return colorEnabled(this.#stderr) ? paint(style, text) : text;
  }
}

/*
 * Text that came from storage or the audit log (names, actors, reasons, notes) is attacker-
 * controlled: an agent can write any string into its own audit records. Printed raw, an escape
 * sequence in it would drive the owner's terminal (rewrite lines, set the title, hide a record).
 * So every such field goes through printable() before it is printed, and JSON output escapes
 * what JSON.stringify leaves raw: C1 controls (U+009B is a one-byte CSI), line separators and
 * the bidirectional overrides that can make text read in another order than it is stored.
 */
// biome-ignore lint: control characters are exactly what we look for.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
// biome-ignore lint: as above, less what JSON.stringify already escapes.
const JSON_RAW = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const escapeChar = (char: string) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** `text` with every control and bidi character shown as a visible `\uXXXX` escape. */
export function printable(text: string): string {
  return text.replace(CONTROL, escapeChar);
}

/** JSON.stringify whose output holds no byte a terminal acts on; parses back to the same value. */
export function safeJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, null, indent).replace(JSON_RAW, escapeChar);
}

function paint(style: Style, text: string): string {
  const [open, close] = CODES[style];
  return `\u001b[${open}m${text}\u001b[${close}m`;
}

/** Left-aligned columns, two spaces apart; the header row is bold on a terminal. */
export function table(output: Output, header: string[], rows: string[][]): string {
  const width = (text: string) => text.replace(/\u001b\[\d+m/g, '').length;
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => width(row[column] ?? ''))));
  const line = (cells: string[]) =>
    cells.map((cell, i) => (i === cells.length - 1 ? cell : cell + ' '.repeat((widths[i] ?? 0) - width(cell)))).join('  ');
  return [output.out('bold', line(header)), ...rows.map(line)].join('\n');
}

/** `2026-03-14 09:12:03Z`: sortable, unambiguous, and short enough for a table. */
export function formatTime(date: Date | number): string {
  return new Date(date).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

/** `in 29d`, `3h ago`: the rough distance from now, for expiry dates. */
export function relativeTime(date: Date | number, now = Date.now()): string {
  const ms = new Date(date).getTime() - now;
  const abs = Math.abs(ms);
  const [amount, unit] = abs >= 86_400_000 ? [abs / 86_400_000, 'd'] : abs >= 3_600_000 ? [abs / 3_600_000, 'h']
    : abs >= 60_000 ? [abs / 60_000, 'm'] : [abs / 1000, 's'];
  const text = `${Math.floor(amount as number)}${unit as string}`;
  return ms >= 0 ? `in ${text}` : `${text} ago`;
}
