/**
 * Finding the key where a server echoes it: its exact bytes, or written the ways a provider
 * plausibly writes it back — each character as itself, as a JSON `\uXXXX` escape, or
 * percent-encoded (`%XX`), mixed freely (a JSON encoder escapes some characters, a URL encoder
 * others). Hex digits in either case.
 *
 * Not searched: base64 (of the key, or of `user:key`). No adapter sends the key base64-encoded
 * (it goes as a bearer token, `x-api-key` or `api-key`), so a server has no base64 of it to echo;
 * and a part of the key (a provider's `sk-...abcd` hint) is no secret.
 *
 * Text is read through `Code` so that one matcher serves bytes (bodies) and strings (header
 * values, which are latin1), without turning the key into a string.
 */

import { concatBytes } from '../../src/_bytes.ts';

/** A read-only view of code units: a byte array, or a string's char codes. */
export interface Code {
  readonly length: number;
  at(index: number): number;
}

export function bytesCode(bytes: Uint8Array): Code {
  return { length: bytes.length, at: (index) => bytes[index]! };
}

export function stringCode(text: string): Code {
  return { length: text.length, at: (index) => text.charCodeAt(index) };
}

/** What `echoAt` found at a position. */
export const NO_ECHO = 0;
/** The text ends inside what may still be an echo: a stream must wait for more. */
export const PARTIAL_ECHO = -1;

const BACKSLASH = 0x5c;
const PERCENT = 0x25;
const LOWER_U = 0x75;

/**
 * The length of an echo of `key` starting at `at` in `text` (in code units), `NO_ECHO`, or
 * `PARTIAL_ECHO` when the text ends before the echo could be decided.
 */
export function echoAt(text: Code, at: number, key: Uint8Array): number {
  let position = at;
  for (let index = 0; index < key.length; index++) {
    if (position >= text.length) return PARTIAL_ECHO;
    const unit = text.at(position);
    const char = key[index]!;
    if (unit === char) {
      position++;
      continue;
    }
    const escaped = unit === BACKSLASH ? escapeAt(text, position + 1, char, true) : unit === PERCENT ? escapeAt(text, position + 1, char, false) : NO_ECHO;
    if (escaped === NO_ECHO || escaped === PARTIAL_ECHO) return escaped;
    position += escaped;
  }
  return position - at;
}

/** `\uXXXX` (json) or `%XX` for `char`, its marker at `from - 1`: its length, NO_ECHO or PARTIAL_ECHO. */
function escapeAt(text: Code, from: number, char: number, json: boolean): number {
  let position = from;
  if (json) {
    if (position >= text.length) return PARTIAL_ECHO;
    if (text.at(position) !== LOWER_U) return NO_ECHO;
    position++;
  }
  const digits = json ? 4 : 2;
  let value = 0;
  for (let i = 0; i < digits; i++, position++) {
    if (position >= text.length) return PARTIAL_ECHO;
    const digit = hexValue(text.at(position));
    if (digit === -1) return NO_ECHO;
    value = value * 16 + digit;
    // A prefix already larger than the character cannot become it.
    if (value > char) return NO_ECHO;
  }
  return value === char ? position - from + 1 : NO_ECHO;
}

function hexValue(unit: number): number {
  if (unit >= 0x30 && unit <= 0x39) return unit - 0x30;
  if (unit >= 0x41 && unit <= 0x46) return unit - 0x41 + 10;
  if (unit >= 0x61 && unit <= 0x66) return unit - 0x61 + 10;
  return -1;
}

/** Whether an echo of `key` could start with this unit. */
export function mayStartEcho(unit: number, key: Uint8Array): boolean {
  return unit === key[0] || unit === BACKSLASH || unit === PERCENT;
}

/** An echo found: where it starts and how long it is (code units). */
export interface EchoSpan {
  start: number;
  length: number;
}

/**
 * Every echo of `key` in `text`, in order, not overlapping; and `partialFrom`, where an echo
 * that the end of the text cut short starts (or `text.length` when none).
 */
export function findEchoes(text: Code, key: Uint8Array): { spans: EchoSpan[]; partialFrom: number } {
  const spans: EchoSpan[] = [];
  if (key.length === 0) return { spans, partialFrom: text.length };
  for (let at = 0; at < text.length; at++) {
    if (!mayStartEcho(text.at(at), key)) continue;
    const length = echoAt(text, at, key);
    if (length === PARTIAL_ECHO) return { spans, partialFrom: at };
    if (length > 0) {
      spans.push({ start: at, length });
      at += length - 1;
    }
  }
  return { spans, partialFrom: text.length };
}

/** `value` with each echo of `key` (compared as latin1 bytes, as header values are) replaced. */
export function redactString(value: string, key: Uint8Array): string {
  if (key.length === 0 || value.length < key.length) return value;
  const { spans } = findEchoes(stringCode(value), key);
  if (spans.length === 0) return value;
  let out = '';
  let from = 0;
  for (const { start, length } of spans) {
    out += value.slice(from, start) + REDACTED;
    from = start + length;
  }
  return out + value.slice(from);
}

/** What replaces the key. */
export const REDACTED = '[redacted by agent-vault]';

const REDACTED_BYTES = new TextEncoder().encode(REDACTED);

/**
 * `bytes` with each echo of `key` replaced (the same array when there is none), and where an
 * echo cut short by the end of `bytes` starts (`bytes.length` when none).
 */
export function redactBytes(bytes: Uint8Array, key: Uint8Array): { bytes: Uint8Array; partialFrom: number } {
  const { spans, partialFrom } = findEchoes(bytesCode(bytes), key);
  if (spans.length === 0) return { bytes, partialFrom };
  const parts: Uint8Array[] = [];
  let from = 0;
  for (const { start, length } of spans) {
    parts.push(bytes.subarray(from, start), REDACTED_BYTES);
    from = start + length;
  }
  parts.push(bytes.subarray(from));
  const out = concatBytes(...parts);
  return { bytes: out, partialFrom: out.length - (bytes.length - partialFrom) };
}
