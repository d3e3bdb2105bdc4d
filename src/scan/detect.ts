/**
 * What counts as a key: the shapes of the major providers' keys, and high-entropy values in
 * variables named like keys. Written to have no false positive among the non-secrets that sit
 * beside keys in real `.env` files and MCP configs (UUIDs, commit hashes, URLs, base64 images,
 * `your-key-here` placeholders); the price is a few misses, each named below where it is made.
 */
import { parseToken } from '../token.ts';

export const PROVIDERS = ['openai', 'anthropic', 'google', 'groq', 'mistral', 'aws', 'github', 'agent-vault', 'generic'] as const;
export type Provider = (typeof PROVIDERS)[number];

interface Shape {
  provider: Provider;
  pattern: RegExp;
  /** An extra check on a value the pattern matched (our tokens carry a checksum). */
  valid?: (value: string) => boolean;
}

/**
 * Keys recognisable by their value alone. Order matters: `sk-ant-` before the OpenAI `sk-`.
 * Lengths are lower bounds with margin below the real ones, so a provider lengthening its
 * keys does not make them invisible.
 */
const SHAPES: readonly Shape[] = [
  { provider: 'anthropic', pattern: /^sk-ant-[A-Za-z0-9_-]{32,}$/, valid: hasRandomRun },
  { provider: 'openai', pattern: /^sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}$/, valid: hasRandomRun },
  { provider: 'google', pattern: /^AIza[0-9A-Za-z_-]{35}$/ },
  { provider: 'groq', pattern: /^gsk_[A-Za-z0-9]{40,}$/ },
  { provider: 'aws', pattern: /^(?:AKIA|ASIA)[A-Z0-9]{16}$/ },
  { provider: 'github', pattern: /^(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})$/ },
  { provider: 'agent-vault', pattern: /^avt_[A-Za-z0-9_-]{60,}$/, valid: isAgentToken },
];

/**
 * `sk-` keys hold a long random block; a slug that merely starts with `sk-`
 * (`sk-winter-collection-2024-blue`, an SKU) is short words between dashes, and words can pass
 * the entropy test.
 */
function hasRandomRun(value: string): boolean {
  return /[A-Za-z0-9]{16,}/.test(value.replace(/^sk-(?:ant-)?/, '')) && looksRandom(value, 0.7);
}

function isAgentToken(value: string): boolean {
  try {
    parseToken(value);
    return true;
  } catch {
    return false;
  }
}

/** Variables whose values are keys by convention; a value in them needs only to look random. */
const SECRET_NAME = /(?:^|_)(?:API_?KEY|ACCESS_KEY|SECRET(?:_KEY)?|TOKEN|PASSWORD|PASSWD|PRIVATE_KEY|CREDENTIALS?|AUTH_KEY)(?:_|$)/i;

/** Key-like names that hold a digest or an identifier of something, not a secret (`SECRET_HASH`, `TOKEN_SHA256`). */
const NOT_SECRET_NAME = /(?:^|_)(?:HASH|SHA(?:1|256|512)?|DIGEST|CHECKSUM|FINGERPRINT|ID|URL|URI|PATH|HEADER|VERSION|FILE)$/i;

/** A version string (`v1.2.3-beta.4+build.5`): letters, digits, and dots where a key has none. */
const VERSION = /^v?\d+(?:\.\d+)+(?:[-+][0-9A-Za-z.+-]*)?$/;

/** Secrets whose value has no shape of its own, named by the variable that holds them. */
const NAMED: readonly { variable: RegExp; provider: Provider; value: RegExp }[] = [
  { variable: /^AWS_SECRET_ACCESS_KEY$/i, provider: 'aws', value: /^[A-Za-z0-9/+]{40}$/ },
  { variable: /^MISTRAL_API_KEY$/i, provider: 'mistral', value: /^[A-Za-z0-9]{32}$/ },
];

/**
 * Words and marks of a value someone is meant to replace. Long words count anywhere
 * (`AKIAIOSFODNN7EXAMPLE`); short ones only as whole words (`your-key-here`, `YOUR_API_KEY`), so
 * a random key that happens to spell one is not dropped.
 */
const PLACEHOLDER = new RegExp([
  'example', 'sample', 'placeholder', 'changeme', 'change_me', 'replace', 'redacted', 'xxxx', '\\.\\.\\.', '[<>]', '\\$\\{', '^\\$', '\\{\\{',
  '(?:^|[-_.\\s])(?:your|here|dummy|fake|todo|key|secret|token)(?:$|[-_.\\s])',
].join('|'), 'i');

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Shannon entropy in bits per character. */
export function entropy(value: string): number {
  const counts = new Map<string, number>();
  for (const char of value) counts.set(char, (counts.get(char) ?? 0) + 1);
  let bits = 0;
  for (const count of counts.values()) {
    const p = count / value.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}

/** How many symbols the value's character classes allow: hex is 16, base62 is 62. */
function alphabetSize(value: string): number {
  if (/^[0-9a-f]+$/.test(value) || /^[0-9A-F]+$/.test(value)) return 16;
  let size = 0;
  if (/[a-z]/.test(value)) size += 26;
  if (/[A-Z]/.test(value)) size += 26;
  if (/[0-9]/.test(value)) size += 10;
  if (/[^A-Za-z0-9]/.test(value)) size += 4;
  return size;
}

/**
 * The value's entropy as a share of what a random string of its length and alphabet is
 * expected to show (Miller–Madow: a sample of n characters from k shows about
 * log2 k − (k−1)/(2n ln 2) bits): random keys score near 1, hex or base62 alike, short or
 * long; `sk-proj-aaaa…`, `abc123abc123` and words far less.
 */
export function randomness(value: string): number {
  const k = alphabetSize(value);
  const expected = Math.min(Math.log2(value.length), Math.log2(k) - (k - 1) / (2 * value.length * Math.LN2));
  return expected > 0 ? entropy(value) / expected : 0;
}

/** Not a placeholder, and random-looking enough. */
function looksRandom(value: string, minShare: number): boolean {
  return !PLACEHOLDER.test(value) && randomness(value) >= minShare;
}

/** The provider of a key recognised by its value alone, or undefined. */
export function shapeOf(value: string): Provider | undefined {
  for (const shape of SHAPES) {
    if (shape.pattern.test(value)) {
      // A checksum says more than entropy can; every other shape must also look random.
      const ok = shape.valid ? shape.valid(value) : looksRandom(value, 0.7);
      return ok ? shape.provider : undefined;
    }
  }
  return undefined;
}

/**
 * The provider of the key `value` held in `variable` (a variable, an env entry, a JSON field),
 * or undefined when it is not a key. Generic detection needs a key-like name AND a random-
 * looking value: UUIDs are refused even there (usually ids; a UUID-shaped key is missed), as are
 * URLs (a password inside a URL is missed), `data:` blobs, and values longer than 512 characters.
 * Measured on random keys (20,000 each): none missed among 32–64-character hex and base62/64
 * values; about 1% of 16-character hex and 3–6% of 16–20-character base62 keys (those with no
 * digit) are missed.
 */
export function detect(variable: string | undefined, value: string): Provider | undefined {
  const trimmed = value.trim();
  const shaped = shapeOf(trimmed);
  if (shaped) return shaped;
  if (variable === undefined) return undefined;
  for (const named of NAMED) {
    if (named.variable.test(variable) && named.value.test(trimmed) && looksRandom(trimmed, 0.8)) return named.provider;
  }
  if (!SECRET_NAME.test(variable) || NOT_SECRET_NAME.test(variable)) return undefined;
  if (VERSION.test(trimmed)) return undefined;
  if (trimmed.length < 16 || trimmed.length > 512 || /\s/.test(trimmed)) return undefined;
  if (UUID.test(trimmed) || trimmed.includes('://') || trimmed.startsWith('data:')) return undefined;
  // Letters and digits, or a long mixed-case run: words and version strings have neither.
  const mixed = /[a-z]/.test(trimmed) && /[A-Z]/.test(trimmed) && trimmed.length >= 32;
  if (!mixed && (!/[0-9]/.test(trimmed) || !/[A-Za-z]/.test(trimmed))) return undefined;
  return looksRandom(trimmed, 0.8) ? 'generic' : undefined;
}

/**
 * Keys inside a longer string (`--api-key=sk-…`, `Bearer sk-…`, a shell alias): only shaped
 * keys count here, since there is no variable name to go on.
 */
export function embeddedKeys(text: string): { provider: Provider; value: string; index: number }[] {
  const found: { provider: Provider; value: string; index: number }[] = [];
  for (const match of text.matchAll(/[A-Za-z0-9_-]{20,}/g)) {
    const provider = shapeOf(match[0]);
    if (provider) found.push({ provider, value: match[0], index: match.index });
  }
  return found;
}

/** Public prefixes shown in masks: a provider's, never a character of the random part. */
const SHOWN_PREFIX: Partial<Record<Provider, number>> = {
  openai: 4, anthropic: 4, google: 4, groq: 4, aws: 4, github: 4, 'agent-vault': 4,
};

/** `sk-p…(51 chars)`: enough to tell keys apart by provider and length, nothing of the secret. */
export function mask(value: string, provider: Provider): string {
  const prefix = value.slice(0, SHOWN_PREFIX[provider] ?? 0);
  return `${prefix}…(${value.length} chars)`;
}

/**
 * The vault name for a variable: `OPENAI_API_KEY` → `openai-api-key`. The Gemini variables map
 * to `gemini-api-key`, the secret the broker's gemini route reads, so an imported key works
 * under `exec` without renaming.
 */
export function secretNameFor(variable: string): string {
  if (/^(?:GOOGLE|GEMINI)_API_KEY$/i.test(variable)) return 'gemini-api-key';
  return variable.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '') || 'imported-key';
}
