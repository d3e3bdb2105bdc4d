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
  const canonical = name.normalize('NFC');
  const bytes = new TextEncoder().encode(canonical).length;
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

/**
 * Compile `allow` glob patterns: `*` matches any run of characters (including none), `?` one
 * character, everything else itself. Patterns are canonicalised like names.
 */
export function compileAllow(patterns: readonly string[]): (name: string) => boolean {
  if (!Array.isArray(patterns) || patterns.length === 0) {
    throw new UsageError("An agent needs at least one allow pattern, e.g. allow: ['openai-*'].");
  }
  const regexes = patterns.map((pattern) => {
    const canonical = canonicalName(pattern);
    const source = [...canonical]
      .map((char) => (char === '*' ? '.*' : char === '?' ? '.' : char.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
      .join('');
    return new RegExp(`^${source}$`, 'su');
  });
  return (name) => regexes.some((regex) => regex.test(name));
}

function badName(reason: string): UsageError {
  return new UsageError(`Invalid secret name: ${reason}.`);
}
