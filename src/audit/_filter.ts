/**
 * `readAudit` filters, applied to raw lines. Reading a million records is dominated by JSON.parse,
 * so each filter first becomes a substring the line must contain (records are written by
 * sealRecord with fixed key spelling), and only candidate lines are parsed.
 */
import type { AuditAction, AuditFilter, AuditRecord } from './index.ts';
import { AUDIT_ACTIONS } from './index.ts';
import { UsageError } from '../errors.ts';

/**
 * Records are in sequence order, but their times come from each writer's clock. Reading newest
 * first, we stop at the first record this much older than `since`, so writers whose clocks
 * disagree by less than this still have every matching record found.
 */
const CLOCK_SKEW_MS = 60_000;

export const STOP = Symbol('stop');

export interface AuditMatcher {
  /** The record if `line` matches, undefined if not, STOP when no older line can match. */
  match(line: string): AuditRecord | undefined | typeof STOP;
  limit: number;
  /** Substrings every matching line contains: a reader may test raw bytes for them before decoding. */
  needles: string[];
  /** With `since`: once a line's time sorts before this, no older line can match. */
  stopBefore: string | undefined;
}

export function auditMatcher(filter: AuditFilter = {}): AuditMatcher {
  const limit = filter.limit ?? Number.POSITIVE_INFINITY;
  if (limit !== Number.POSITIVE_INFINITY && (!Number.isInteger(limit) || limit < 0)) {
    throw new UsageError('readAudit: limit must be a whole number >= 0.');
  }
  const since = filter.since === undefined ? undefined : isoTime(filter.since, 'since');
  const until = filter.until === undefined ? undefined : isoTime(filter.until, 'until');
  const stopBefore = filter.since === undefined ? undefined : new Date(Date.parse(since!) - CLOCK_SKEW_MS).toISOString();
  const actions = filter.action === undefined ? undefined : new Set<AuditAction>([filter.action].flat());
  for (const action of actions ?? []) {
    if (!AUDIT_ACTIONS.includes(action)) throw new UsageError(`readAudit: unknown action "${action}".`);
  }
  // Most selective first: a reader searches whole blocks for the first needle.
  const needles: string[] = [];
  if (filter.name !== undefined) needles.push(`"name":${JSON.stringify(filter.name)}`);
  if (filter.agent !== undefined) needles.push(`"actor":${JSON.stringify(`agent:${filter.agent}`)}`);
  if (filter.actor !== undefined) needles.push(`"actor":${JSON.stringify(filter.actor)}`);
  if (actions?.size === 1) needles.push(`"action":${JSON.stringify([...actions][0])}`);

  return {
    limit,
    needles,
    stopBefore,
    match(line) {
      if (since !== undefined || until !== undefined) {
        const at = line.indexOf('"time":"');
        const time = at === -1 ? '' : line.slice(at + 8, line.indexOf('"', at + 8));
        if (stopBefore !== undefined && time < stopBefore) return STOP;
        if ((since !== undefined && time < since) || (until !== undefined && time > until)) return undefined;
      }
      for (const needle of needles) if (!line.includes(needle)) return undefined;
      let record: AuditRecord;
      try {
        record = JSON.parse(line) as AuditRecord;
      } catch {
        return undefined; // damage is verifyAudit's to report; reading goes on past it
      }
      if (typeof record !== 'object' || record === null) return undefined;
      // The substring test can be fooled by a name containing `"actor":…`; the parsed fields cannot.
      if (actions && !actions.has(record.action)) return undefined;
      if (filter.name !== undefined && record.name !== filter.name) return undefined;
      if (filter.agent !== undefined && record.actor !== `agent:${filter.agent}`) return undefined;
      if (filter.actor !== undefined && record.actor !== filter.actor) return undefined;
      return record;
    },
  };
}

function isoTime(value: Date | number | string, what: string): string {
  const ms = value instanceof Date ? value.getTime() : typeof value === 'number' ? value : Date.parse(value);
  if (!Number.isFinite(ms)) throw new UsageError(`readAudit: ${what} must be a Date, milliseconds or an ISO date.`);
  return new Date(ms).toISOString();
}
