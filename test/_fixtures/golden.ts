/**
 * What the golden vaults under `golden/` hold. `make-golden.ts` wrote them from these values;
 * `test/golden.test.ts` opens the checked-in files with today's code and expects these values
 * back. Change a value here only together with a deliberate format change (and new files).
 */
import { join } from 'node:path';

/** Format 1 (before owner-signed records): opened only to be migrated. */
export const GOLDEN_DIR = join(import.meta.dirname, 'golden');
/** Format 2: what make-golden.ts writes today. */
export const GOLDEN_V2_DIR = join(import.meta.dirname, 'golden-v2');

/** The clock both the script and the test run on, so expiry is the same today and in ten years. */
export const MADE_AT = Date.parse('2026-12-01T00:00:00.000Z');
export const DAY = 24 * 60 * 60 * 1000;

export const PASSPHRASE = 'golden passphrase: correct horse battery staple';

/** The passphrase vault's secrets as they stand after the script (current versions). */
export const SECRETS = {
  'openai-api-key': { value: 'sk-golden-openai-0123456789abcdef-v2', version: 2 },
  'db-url': { value: 'postgres://golden:pw@127.0.0.1:5432/golden', version: 1 },
  'owner-only': { value: 'not for any agent: ключ 🔑 café', version: 1 },
} as const;
/** The first value of `openai-api-key`, replaced by version 2. */
export const OPENAI_V1 = 'sk-golden-openai-0123456789abcdef-v1';
/** Set, then deleted: must stay gone. */
export const DELETED = 'deleted-secret';

/** The agents: what each may read, and its state. */
export const AGENTS = {
  'golden-bot': { allow: ['openai-*', 'db-*'], ttl: '30d' },
  'rotated-bot': { allow: ['db-*'], ttl: '30d' },
  'revoked-bot': { allow: ['*'], ttl: '30d' },
} as const;

/** The key-file vault: one secret, one agent. */
export const KEYFILE_SECRET = { name: 'anthropic-api-key', value: 'sk-ant-golden-fedcba9876543210' } as const;
export const KEYFILE_AGENT = { id: 'keyfile-bot', allow: ['anthropic-*'], ttl: '30d' } as const;

/** The files the script writes, under one golden directory. */
export function goldenPaths(dir: string) {
  return {
    passphraseVault: join(dir, 'passphrase-vault'),
    keyFileVault: join(dir, 'keyfile-vault'),
    keyFile: join(dir, 'owner.key'),
    tokens: join(dir, 'tokens.json'),
  };
}
export const PATHS = goldenPaths(GOLDEN_DIR);
export const PATHS_V2 = goldenPaths(GOLDEN_V2_DIR);

/** tokens.json: each agent token the script printed, by name. */
export interface GoldenTokens {
  'golden-bot': string;
  /** rotated-bot's first token, made useless by the rotation. */
  'rotated-bot-before': string;
  'rotated-bot': string;
  'revoked-bot': string;
  'keyfile-bot': string;
}
