import { UsageError } from './errors.ts';

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

/** `'90s'`, `'15m'`, `'1h'`, `'30d'`, `'2w'`, or a number of milliseconds → milliseconds. */
export function parseDuration(value: string | number, what = 'duration'): number {
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value) && value > 0) return value;
  } else {
    const match = /^(\d{1,9})(s|m|h|d|w)$/.exec(value.trim());
    if (match && Number(match[1]) > 0) return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
  }
  throw new UsageError(
    `Invalid ${what} ${JSON.stringify(String(value)).slice(0, 40)}: use a positive number of ` +
      `milliseconds or a number with a unit, e.g. '90s', '15m', '1h', '30d', '2w'.`,
  );
}
