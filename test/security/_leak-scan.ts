/**
 * The leak canary's scanner: every form in which a secret could show up in text or bytes, and
 * every view of an object a user (or a logger) could take. A leak is any finding outside the
 * places where the user asked for the value.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { inspect } from 'node:util';

/** A secret value long enough that a window of it cannot occur by chance. */
export const WINDOW = 20;

export interface Finding {
  /** Where it was found, e.g. `error 3 inspect`. */
  where: string;
  /** Which secret (the label given to the scanner). */
  secret: string;
  /** In which form: `text`, `base64`, `utf16`, `hex`, `bytes`, … */
  form: string;
  /** A few characters around the hit, with the secret masked, to find it again. */
  excerpt: string;
}

interface Needle {
  secret: string;
  form: string;
  text: string;
  /** Searched in the text with all whitespace removed (inspect aligns numbers in columns). */
  squeezed?: boolean;
}

/** The base64 characters that depend on `bytes` alone, at each alignment of a surrounding stream. */
function base64Needles(bytes: Buffer): string[] {
  const out: string[] = [];
  for (let align = 0; align < 3; align++) {
    const encoded = Buffer.concat([Buffer.alloc(align), bytes]).toString('base64').replace(/=+$/, '');
    out.push(encoded.slice(Math.ceil((8 * align) / 6), Math.floor((8 * (align + bytes.length)) / 6)));
  }
  return out;
}

export class LeakScanner {
  readonly #needles: Needle[] = [];
  readonly #secrets: Map<string, string>;

  /** `secrets`: label → value; each must be at least WINDOW characters of printable ASCII. */
  constructor(secrets: Record<string, string>) {
    this.#secrets = new Map(Object.entries(secrets));
    for (const [secret, value] of this.#secrets) {
      if (value.length < WINDOW || !/^[\x21-\x7e]+$/.test(value)) {
        throw new Error(`canary "${secret}" must be ${WINDOW}+ printable ASCII characters`);
      }
      const add = (form: string, text: string, squeezed = false) => this.#needles.push({ secret, form, text, squeezed });
      // Any WINDOW characters of it: a log that truncates long strings still leaks.
      for (let i = 0; i + WINDOW <= value.length; i++) add('text', value.slice(i, i + WINDOW));
      const bytes = Buffer.from(value);
      for (const text of base64Needles(bytes)) {
        add('base64', text);
        add('base64url', text.replaceAll('+', '-').replaceAll('/', '_'));
      }
      // Hex, also as inspect prints a Buffer (`<Buffer 73 6b …>`, cut after 50 bytes), and decimal, as
      // inspect and JSON print a byte array (`Uint8Array(n) [ 115, 107, … ]` in aligned columns,
      // `[115,107,…]`): any WINDOW bytes of it, searched with whitespace squeezed out.
      for (let i = 0; i + WINDOW <= bytes.length; i++) {
        const window = bytes.subarray(i, i + WINDOW);
        add('hex', window.toString('hex'), true);
        add('hex', window.toString('hex').toUpperCase(), true);
        add('bytes-decimal', [...window].join(','), true);
      }
      // UTF-16 (a JS string's own encoding, as in a heap or a UTF-16 file), read back as bytes.
      add('utf16', Buffer.from(value.slice(0, WINDOW), 'utf16le').toString('latin1').slice(0, -1));
      add('utf16', Buffer.from(value.slice(-WINDOW), 'utf16le').toString('latin1').slice(0, -1));
    }
  }

  /** Every finding of any secret in `content` (a string, or bytes searched in every form). */
  scan(where: string, content: string | Uint8Array): Finding[] {
    const plain = typeof content === 'string' ? content : Buffer.from(content).toString('latin1');
    let squeezed: string | undefined;
    const findings: Finding[] = [];
    const seen = new Set<string>();
    for (const needle of this.#needles) {
      const text = needle.squeezed ? (squeezed ??= plain.replace(/\s+/g, '')) : plain;
      const at = text.indexOf(needle.text);
      if (at < 0 || seen.has(`${needle.secret}/${needle.form}`)) continue;
      seen.add(`${needle.secret}/${needle.form}`);
      findings.push({ where, secret: needle.secret, form: needle.form, excerpt: this.#excerpt(text, at, needle.text.length) });
    }
    return findings;
  }

  #excerpt(text: string, at: number, length: number): string {
    let excerpt = text.slice(Math.max(0, at - 60), at + length + 20);
    for (const [secret, value] of this.#secrets) excerpt = excerpt.replaceAll(value, `<${secret}>`);
    return excerpt.slice(0, 60) + (text.length > at + length + 20 ? '…' : '');
  }

  /** Every view of `value` (see `views`), scanned. */
  scanValue(where: string, value: unknown): Finding[] {
    return views(value).flatMap(([view, content]) => this.scan(`${where} ${view}`, content));
  }

  /** Every regular file under `dir`, as bytes; `allow(path, secret)` exempts a file from a secret. */
  scanDirectory(dir: string, allow: (path: string, secret: string) => boolean = () => false): Finding[] {
    return filesUnder(dir).flatMap((path) =>
      this.scan(`file ${relative(dir, path)}`, readFileSync(path)).filter((f) => !allow(relative(dir, path), f.secret)));
  }
}

export function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

const FULL = { depth: Infinity, showHidden: true, maxArrayLength: Infinity, maxStringLength: Infinity, breakLength: Infinity } as const;

/**
 * What a user, a logger or an error reporter could print of `value`: `util.inspect` (depth
 * Infinity, showHidden, with and without custom inspectors), `JSON.stringify`,
 * `String()`, each error's message, stack and cause chain, and every string and byte array
 * reachable through its properties (enumerable or not, symbols too).
 */
export function views(value: unknown): [string, string | Uint8Array][] {
  const out: [string, string | Uint8Array][] = [];
  const attempt = (view: string, render: () => string | undefined) => {
    try {
      const text = render();
      if (text !== undefined) out.push([view, text]);
    } catch (error) {
      out.push([`${view} (threw)`, String(error)]);
    }
  };
  attempt('inspect', () => inspect(value, FULL));
  attempt('inspect-raw', () => inspect(value, { ...FULL, customInspect: false }));
  attempt('json', () => safeJson(value));
  attempt('string', () => String(value));
  errorChain(value, 'error', out, new Set());
  reachable(value, (path, found) => out.push([`reachable ${path}`, found]));
  return out;
}

function safeJson(value: unknown): string | undefined {
  const seen = new WeakSet<object>();
  return JSON.stringify(value, (_key, item: unknown) => {
    if (typeof item === 'bigint') return String(item);
    if (typeof item === 'object' && item !== null) {
      if (seen.has(item)) return '[Circular]';
      seen.add(item);
    }
    return item;
  });
}

function errorChain(value: unknown, path: string, out: [string, string | Uint8Array][], seen: Set<unknown>): void {
  if (!(value instanceof Error) || seen.has(value)) return;
  seen.add(value);
  out.push([`${path}.message`, String(value.message)], [`${path}.stack`, String(value.stack)], [`${path} String`, String(value)]);
  errorChain(value.cause, `${path}.cause`, out, seen);
  if (value instanceof AggregateError) value.errors.forEach((e, i) => errorChain(e, `${path}.errors[${i}]`, out, seen));
}

/**
 * Walk own data properties (never calling getters), array and typed-array elements, Map and Set
 * entries; report every string and byte array. Stops at the global object and `process`.
 */
function reachable(root: unknown, report: (path: string, found: string | Uint8Array) => void): void {
  const visited = new Set<unknown>([globalThis, process, console]);
  const queue: [unknown, string][] = [[root, '$']];
  for (let n = 0; n < queue.length && n < 200_000; n++) {
    const [value, path] = queue[n]!;
    if (typeof value === 'string') {
      if (value.length >= WINDOW) report(path, value);
      continue;
    }
    if ((typeof value !== 'object' && typeof value !== 'function') || value === null || visited.has(value)) continue;
    visited.add(value);
    if (ArrayBuffer.isView(value)) {
      report(path, new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
      continue;
    }
    if (value instanceof ArrayBuffer || value instanceof SharedArrayBuffer) {
      report(path, new Uint8Array(value));
      continue;
    }
    if (value instanceof Map) for (const [k, v] of value) queue.push([k, `${path}<key>`], [v, `${path}.get()`]);
    if (value instanceof Set) for (const v of value) queue.push([v, `${path}<item>`]);
    for (const key of Reflect.ownKeys(value)) {
      const descriptor = Reflect.getOwnPropertyDescriptor(value, key);
      if (descriptor && 'value' in descriptor) queue.push([descriptor.value, `${path}.${String(key)}`]);
    }
    const proto = Object.getPrototypeOf(value);
    // Instance state only: prototypes of plain classes hold methods, not data.
    if (proto && proto !== Object.prototype && proto !== Function.prototype && !visited.has(proto)) queue.push([proto, `${path}.__proto__`]);
  }
}

/** Render findings for an assertion message. */
export function describeFindings(findings: Finding[]): string {
  return findings.map((f) => `${f.secret} as ${f.form} in ${f.where}: ${JSON.stringify(f.excerpt)}`).join('\n');
}
