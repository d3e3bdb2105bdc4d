/**
 * An audit sink in this process's memory: the memory backend's own, so a vault on it audits like
 * any other (records in the same format, verified by the same chain check), for tests and
 * short-lived vaults. No node:* module.
 */
import type { AuditSink } from './index.ts';
import { cannotStartLog, ChainVerifier, eventProblem, genesisHash, lineHash, sealRecord } from './_chain.ts';
import { auditMatcher, STOP } from './_filter.ts';
import { UsageError } from '../errors.ts';
import { utf8 } from '../crypto.ts';

export interface MemoryAuditSink extends Required<AuditSink> {
  /** The stored lines, oldest first: a test can read, damage or replace them as an attacker would. */
  readonly lines: Uint8Array[];
}

/** A new, empty in-memory log. Closing it keeps its records (several vault objects may share it). */
export function memoryAuditSink(): MemoryAuditSink {
  const lines: Uint8Array[] = [];
  return {
    lines,
    async append(event, context) {
      const problem = eventProblem(event);
      if (problem) throw new UsageError(`Not a valid audit event: ${problem}.`);
      const last = lines.at(-1);
      if (last === undefined) {
        const refused = cannotStartLog(event, 'in memory');
        if (refused) throw refused;
      }
      const seq = lines.length + 1;
      const prev = last === undefined ? genesisHash(context.vaultId) : lineHash(last);
      lines.push(sealRecord(event, seq, context.now, context.vaultId, prev, context.macKey).bytes);
    },
    async head(vaultId) {
      const last = lines.at(-1);
      return last === undefined ? { seq: 0, hash: genesisHash(vaultId) } : { seq: lines.length, hash: lineHash(last) };
    },
    async *read(filter = {}) {
      const matcher = auditMatcher(filter);
      let count = 0;
      for (let i = lines.length - 1; i >= 0 && count < matcher.limit; i--) {
        const record = matcher.match(utf8.decode(lines[i]!));
        if (record === STOP) return;
        if (record === undefined) continue;
        yield record;
        count++;
      }
    },
    async verify(context, options = {}) {
      const verifier = new ChainVerifier(context.vaultId, context.keys, options.anchor);
      for (let i = 0; i < lines.length; i++) verifier.check(lines[i]!, lines[i + 1]);
      return verifier.finish();
    },
    async close() {},
  };
}
