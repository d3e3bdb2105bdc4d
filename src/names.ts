import { UsageError } from './errors.ts';

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
 * Shapes of provider credentials (prefix, then a body with digits in it, as generated keys have),
 * and any long unbroken run of letters and digits. A name people choose has words and dashes;
 * `sk-openai-production` passes, `sk-proj-4f9Q…` does not.
 */
const CREDENTIAL_PREFIXES =
  /^(?:sk-|sk_|pk_|rk_|avt_|avk_|ghp_|gho_|ghu_|ghs_|ghr_|github_pat_|glpat-|xox[abprs]-|AKIA|ASIA|AIza|hf_|gsk_|r8_|npm_|pypi-)/;

function looksLikeCredential(name: string): boolean {
  const digits = (text: string) => text.replace(/\D/g, '').length;
  const prefix = CREDENTIAL_PREFIXES.exec(name);
  if (prefix) {
    const body = name.slice(prefix[0].length);
    if (body.length >= 16 && digits(body) >= 3) return true;
  }
  // 32+ characters with no separator a person would type, mixing letters and digits.
  return /[A-Za-z0-9+/=]{32,}/.test(name) && /[0-9]/.test(name) && /[A-Za-z]/.test(name) && digits(name) >= 4;
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
