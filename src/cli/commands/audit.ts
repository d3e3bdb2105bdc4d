import { parseDuration } from '../../duration.ts';
import { UsageError } from '../../errors.ts';
import type { AuditFilter, AuditRecord } from '../../audit/index.ts';
import type { Command } from '../_command.ts';
import type { Output } from '../_output.ts';
import { formatTime, printable, safeJson } from '../_output.ts';
import { withOwnerVault } from '../_unlock.ts';

const COLUMNS = [['TIME', 20], ['ACTOR', 18], ['ACTION', 14], ['NAME', 24], ['OUTCOME', 0]] as const;

export const audit: Command = {
  name: 'audit',
  summary: 'Show the audit log (newest first); see also audit verify',
  usage: 'audit [--since DURATION|DATE] [--agent ID] [--name NAME] [--limit N]',
  description:
    'Show audit records, newest first: time, actor (owner or agent:ID), action, secret name (or agent\n' +
    'id), outcome and why it was denied. Every resolution, denial and change is recorded; values never\n' +
    'are. This reads the log without checking it: `agent-vault audit verify` checks the hash chain and\n' +
    'every record\'s MAC.',
  args: [],
  options: {
    since: { type: 'string', value: 'DURATION|DATE', description: 'Only records this recent (1h, 30d) or since this date (2026-03-01).' },
    agent: { type: 'string', value: 'ID', description: 'Only records written by this agent.' },
    name: { type: 'string', value: 'NAME', description: 'Only records about this secret (or agent id).' },
    limit: { type: 'string', value: 'N', description: 'At most N records.' },
  },
  examples: ['agent-vault audit --since 1h', 'agent-vault audit --agent research-bot --name openai-api-key --json'],
  async run({ options, output, dir, keyFile }) {
    const filter = auditFilter(options as Record<string, string | undefined>);
    await withOwnerVault({ dir, keyFile }, async (vault) => {
      let count = 0;
      const write = output.json ? jsonArrayWriter(output) : tableWriter(output);
      for await (const record of vault.readAudit(filter)) write.record(record, count++);
      write.end(count);
      if (count === 0 && !output.json) output.note('No audit records match.');
    });
  },
};

function auditFilter(options: Record<string, string | undefined>): AuditFilter {
  const filter: AuditFilter = {};
  if (options.since !== undefined) filter.since = sinceTime(options.since);
  if (options.agent !== undefined) filter.agent = options.agent;
  if (options.name !== undefined) filter.name = options.name.normalize('NFC');
  if (options.limit !== undefined) {
    if (!/^\d{1,9}$/.test(options.limit)) throw new UsageError('--limit takes a whole number, e.g. --limit 50.');
    filter.limit = Number(options.limit);
  }
  return filter;
}

/** `1h` back from now, or a date. */
function sinceTime(text: string): number {
  if (/^\d+[smhdw]$/.test(text)) return Date.now() - parseDuration(text, '--since');
  const date = Date.parse(text);
  if (Number.isFinite(date)) return date;
  throw new UsageError('--since takes a duration back from now (90s, 15m, 1h, 30d, 2w) or a date (2026-03-01, or an ISO time).');
}

interface RecordWriter {
  record(record: AuditRecord, index: number): void;
  end(count: number): void;
}

/** Streamed, so a long log is never held in memory: fixed column widths instead of measured ones. */
function tableWriter(output: Output): RecordWriter {
  const line = (cells: string[]) =>
    cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(COLUMNS[i]![1]))).join('  ').trimEnd();
  return {
    record(record, index) {
      if (index === 0) output.write(`${output.out('bold', line(COLUMNS.map(([title]) => title)))}\n`);
      // Every field an agent wrote is shown through printable(): no escape sequence reaches the terminal.
      const outcome = record.outcome === 'ok' ? output.out('green', 'ok')
        : output.out('red', printable(record.outcome)) + (record.reason ? ` (${printable(record.reason)})` : '');
      const name = record.name === undefined ? '-'
        : printable(record.version === undefined ? record.name : `${record.name} v${record.version}`);
      const cells = [formatTime(Date.parse(record.time)), printable(record.actor), printable(record.action), name,
        outcome + (record.note ? ` ${printable(record.note)}` : '')];
      output.write(`${line(cells)}\n`);
    },
    end() {},
  };
}

/** A JSON array, written one record at a time. */
function jsonArrayWriter(output: Output): RecordWriter {
  return {
    record(record, index) {
      output.write(`${index === 0 ? '[\n' : ',\n'}  ${safeJson(record)}`);
    },
    end(count) {
      output.write(count === 0 ? '[]\n' : '\n]\n');
    },
  };
}
