/**
 * The golden vault of a rotation in its grace (an `'AVG2'` agent record, FORMAT.md): what
 * make-golden-grace.ts wrote under golden-grace/, and test/golden-grace.test.ts expects back.
 */
import { join } from 'node:path';
import { DAY, MADE_AT } from './golden.ts';

export const GOLDEN_GRACE_DIR = join(import.meta.dirname, 'golden-grace');
export const GRACE_PATHS = {
  vault: join(GOLDEN_GRACE_DIR, 'vault'),
  keyFile: join(GOLDEN_GRACE_DIR, 'owner.key'),
  tokens: join(GOLDEN_GRACE_DIR, 'tokens.json'),
};
export const GRACE_SECRET = { name: 'openai-api-key', value: 'sk-golden-grace-0123456789abcdef' } as const;
export const GRACE_AGENT = { id: 'grace-bot', allow: ['openai-*'], ttl: '30d', grace: '7d' } as const;
/** The rotation happened at MADE_AT (the clock ticks a second per reading): the grace ends 7 days on. */
export const GRACE_ENDS_BY = MADE_AT + 7 * DAY + 60_000;

/** tokens.json: the token the rotation replaced (in its grace) and the one it issued. */
export interface GraceTokens {
  before: string;
  after: string;
}
