/** Fake provider keys. */
import { randomBytes } from 'node:crypto';

/** A key of a realistic shape, unique to this run, so that searching for it finds only its own copies. */
export function fakeKey(prefix = 'sk-test'): string {
  return `${prefix}-${randomBytes(24).toString('hex')}`;
}
