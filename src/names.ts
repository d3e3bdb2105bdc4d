import { UsageError } from './errors.ts';
import { shapeOf } from './scan/detect.ts';

/**
 * Secret names. The rule (documented in the README): a name is normalised to Unicode NFC, so
 * the NFC and NFD spellings of one name are the same secret; it must then be 1–256 UTF-8 bytes
 * with no control characters and no leading or trailing whitespace. Names never reach storage:
 * the backend key is a keyed hash of the canonical name, so no name can escape the vault
 * directory or collide with another.
 */
export function canonicalName(name: unknown): string {
  if (typeof name !== 'string') throw badName('a secret name must be a string');
  let canonical = canonicalNames.get(name);
  if (canonical !== undefined) return canonical;
  canonical = checkName(name);
  if (canonicalNames.size >= 1_024) canonicalNames.clear();
  canonicalNames.set(name, canonical);
  return canonical;
}

/** Names already found valid, with their canonical form: every resolution names its secret again. */
const canonicalNames = new Map<string, string>();
const encoder = new TextEncoder();

function checkName(name: string): string {
  const canonical = name.normalize('NFC');
  const bytes = encoder.encode(canonical).length;
  if (bytes === 0 || bytes > 256) throw badName('a secret name must be 1 to 256 bytes long');
  // biome-ignore lint: control characters are exactly what we reject.
  if (/[\u0000-\u001f\u007f-\u009f]/.test(canonical)) throw badName('a secret name must not contain control characters');
  if (canonical.trim() !== canonical) throw badName('a secret name must not start or end with whitespace');
  if (looksLikeCredential(canonical)) {
    // Said without the name: it is most likely a real key pasted where the name belongs, and this
    // message reaches terminals, logs and audit tooling. Checked here, before any audit record.
    throw badName(
      'it looks like an API key or token, not a name (it is not shown here). Name the secret for what it is, ' +
        'e.g. openai-api-key, and give the key as its value. If that was a real key, consider it exposed',
    );
  }
  return canonical;
}

/**
 * A provider key's shape (the scanner's list, `scan/detect.ts`), or any long unbroken run of
 * letters and digits: names people choose have words and dashes, `sk-openai-production` passes.
 */
function looksLikeCredential(name: string): boolean {
  if (shapeOf(name) !== undefined) return true;
  const run = /[A-Za-z0-9+/=]{32,}/.exec(name)?.[0];
  return run !== undefined && /[A-Za-z]/.test(run) && run.replace(/\D/g, '').length >= 4;
}

/** Agent ids are short and plain: they appear in tokens, audit records and CLI output. */
export function checkAgentId(id: unknown): string {
  if (typeof id !== 'string' || !/^[a-z0-9][a-z0-9._-]{0,63}$/.test(id)) {
    throw new UsageError(
      'An agent id must be 1-64 characters of a-z, 0-9, ".", "_" or "-", starting with a letter or digit.',
    );
  }
  return id;
}

/** An agent's allow list is a few patterns; a stored one with more was not written by us. */
export const MAX_ALLOW_PATTERNS = 64;

/**
 * Compile `allow` glob patterns: `*` matches any run of characters (including none), `?` one
 * character, everything else itself. Patterns are canonicalised like names (so each is at most
 * 256 bytes), and at most MAX_ALLOW_PATTERNS of them.
 *
 * Matching never backtracks (a pattern is never a regex: `'*?'` × 20 + `'!'` made one take
 * minutes): the segments between stars are found leftmost, one after the other, which is exact
 * for globs with only `*` and `?`, and costs at most name length × pattern length per pattern.
 */
export function compileAllow(patterns: readonly string[]): (name: string) => boolean {
  if (!Array.isArray(patterns) || patterns.length === 0) {
    throw new UsageError("An agent needs at least one allow pattern, e.g. allow: ['openai-*'].");
  }
  if (patterns.length > MAX_ALLOW_PATTERNS) {
    throw new UsageError(`An agent takes at most ${MAX_ALLOW_PATTERNS} allow patterns; use wildcards to cover more names.`);
  }
  const globs = patterns.map((pattern) => segmentsOf(canonicalName(pattern)));
  return (name) => {
    const chars = [...name];
    return globs.some((glob) => globMatch(glob, chars));
  };
}

/** A pattern's runs between stars, as code points (`?` kept as a wildcard). */
function segmentsOf(pattern: string): string[][] {
  const segments: string[][] = [[]];
  for (const char of pattern) {
    if (char === '*') segments.push([]);
    else segments.at(-1)!.push(char);
  }
  return segments;
}

/** Do the `segments` of a glob match all of `name` (code points)? */
function globMatch(segments: readonly string[][], name: readonly string[]): boolean {
  const first = segments[0]!;
  if (segments.length === 1) return first.length === name.length && matchesAt(first, name, 0);
  const last = segments.at(-1)!;
  if (first.length + last.length > name.length) return false;
  if (!matchesAt(first, name, 0) || !matchesAt(last, name, name.length - last.length)) return false;
  // Middle segments, leftmost first, within what the first and last segments leave over.
  let at = first.length;
  const end = name.length - last.length;
  for (let i = 1; i < segments.length - 1; i++) {
    const segment = segments[i]!;
    let found = -1;
    for (let start = at; start + segment.length <= end; start++) {
      if (matchesAt(segment, name, start)) {
        found = start;
        break;
      }
    }
    if (found === -1) return false;
    at = found + segment.length;
  }
  return true;
}

function matchesAt(segment: readonly string[], name: readonly string[], start: number): boolean {
  for (let i = 0; i < segment.length; i++) {
    if (segment[i] !== '?' && segment[i] !== name[start + i]) return false;
  }
  return true;
}

function badName(reason: string): UsageError {
  return new UsageError(`Invalid secret name: ${reason}.`);
}
