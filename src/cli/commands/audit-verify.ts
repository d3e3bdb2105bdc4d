import { AuditError, UsageError } from '../../errors.ts';
import type { Command } from '../_command.ts';
import { printable } from '../_output.ts';
import { withOwnerVault } from '../_unlock.ts';

export const auditVerify: Command = {
  name: 'audit verify',
  summary: 'Check the audit log\'s hash chain and MACs; the exit code says if it holds',
  usage: 'audit verify [--anchor SEQ:HASH]',
  description:
    'Check every record of the audit log: the hash chain and each writer\'s MAC (the owner re-derives\n' +
    'every agent\'s key). Exit 0 when it holds; 1, with the first record that cannot be trusted, when\n' +
    'one was modified, inserted, deleted, reordered or forged. A torn last line (a crash mid-write) is\n' +
    'trimmed and recorded. Removing the newest records cannot be seen from inside the log: keep the\n' +
    'printed last record (SEQ:HASH) somewhere else and pass it back with --anchor next time.',
  args: [],
  options: {
    anchor: { type: 'string', value: 'SEQ:HASH', description: 'A last record printed by an earlier verify: the log must still hold it.' },
  },
  examples: ['agent-vault audit verify', 'agent-vault audit verify --anchor "$(cat ~/audit-anchor)" --json'],
  async run({ options, output, dir, keyFile }) {
    const anchor = parseAnchor(options.anchor as string | undefined);
    const report = await withOwnerVault({ dir, keyFile }, (vault) => vault.verifyAudit(anchor ? { anchor } : {}));
    const lastText = `${report.last.seq}:${report.last.hash}`;
    const lines = report.ok
      ? [`The audit log holds: ${report.records} records verified.`, `Last record: ${lastText}`]
      : [`The audit log does NOT hold: ${report.records} records verified before the problem.`];
    if (report.problem) {
      const { kind, seq, line, message } = report.problem;
      lines.push(`Problem: ${kind} at record ${seq} (line ${line}): ${printable(message)}`);
    }
    // Verification goes on past a bad line: the later problems too (the first is above).
    for (const later of (report.problems ?? []).slice(1)) {
      lines.push(`Also: ${later.kind} at record ${later.seq} (line ${later.line}): ${printable(later.message)}`);
    }
    if (report.torn) lines.push(`A torn last line (${report.torn.bytes} bytes, a crash mid-write) was ${report.torn.trimmed ? 'trimmed' : 'found'}.`);
    for (const recovery of report.recoveries) {
      lines.push(`Recovered earlier, at ${printable(recovery.time)}: ${printable(recovery.note ?? recovery.action)}`);
    }
    output.result(report, lines.join('\n'));
    if (!report.ok) {
      const { kind, seq } = report.problem ?? { kind: 'unknown', seq: report.records + 1 };
      throw new AuditError(`The audit log does not verify (${kind} at record ${seq}); records before it are intact.`);
    }
    if (!output.json) {
      output.note('Keep the last record somewhere the vault\'s users cannot rewrite, and pass it as --anchor next time.');
    }
  },
};

function parseAnchor(text: string | undefined): { seq: number; hash: string } | undefined {
  if (text === undefined) return undefined;
  const match = /^(\d{1,15}):([0-9a-f]{64})$/.exec(text);
  if (!match) throw new UsageError('--anchor takes SEQ:HASH as printed by `audit verify` (a number, a colon, 64 hex digits).');
  return { seq: Number(match[1]), hash: match[2] as string };
}
