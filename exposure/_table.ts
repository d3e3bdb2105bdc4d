/** The exposure report as text tables: one for the provider key, one for the agent's credentials. */
import type { Copies } from './_count.ts';
import { type DumpCounts, type ExposureReport, HEAP_MOMENTS, MOMENTS, type SecretCopies } from './_harness.ts';

/** `7`, or `7 (+2)` when 2 fragments (16+ characters) were found besides 7 full copies. */
function cell(copies: Copies | undefined): string {
  if (!copies) return '-';
  return copies.partial > 0 ? `${copies.full} (+${copies.partial})` : String(copies.full);
}

function both(copies: SecretCopies | undefined): Copies | undefined {
  return copies && { full: copies.ascii.full + copies.utf16.full, partial: copies.ascii.partial + copies.utf16.partial };
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]!.length)));
  const line = (row: string[]) => row.map((text, i) => (i === 0 ? text.padEnd(widths[i]!) : text.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function formatReport(report: ExposureReport): string {
  const dumpKind = report.runs[0]?.dump === 'gcore' ? 'gcore core dumps' : 'process memory (/proc/<pid>/mem)';
  const keyRows = report.runs.flatMap((run) => [[
    `${run.mode} ${run.protocol}`,
    ...MOMENTS.map((moment) => cell(both(run.memory[moment]?.key))),
    ...HEAP_MOMENTS.map((moment) => cell(run.heap[moment])),
    run.keyDelivered ? 'yes' : 'NO',
  ], ...(run.brokerMemory ? [[
    `  its broker process`,
    ...MOMENTS.map((moment) => cell(both(run.brokerMemory![moment]?.key))),
    ...HEAP_MOMENTS.map(() => '-'),
    '',
  ]] : [])]);
  const credentialRows = report.runs.filter((run) => run.mode !== 'env').flatMap((run) => [[
    `${run.mode} ${run.protocol}`,
    ...MOMENTS.map((moment) => credentials(run.memory[moment])),
  ], ...(run.brokerMemory ? [['  its broker process', ...MOMENTS.map((moment) => credentials(run.brokerMemory![moment]))]] : [])]);
  return [
    `Copies of a ${report.keyLength}-character provider key in the agent process (${report.node}, ${report.platform}).`,
    `Memory: ${dumpKind}, ASCII and UTF-16 together. Heap: V8 heap snapshot after forced GC (reachable strings).`,
    'N = full copies; (+n) = fragments of 16+ characters besides them.',
    '',
    table(['mode', ...MOMENTS, ...HEAP_MOMENTS.map((m) => `heap ${m}`), 'key sent'], keyRows),
    '',
    'The agent\'s own credentials in the same dumps: agent token (string) / agent key (bytes).',
    '',
    table(['mode', ...MOMENTS], credentialRows),
  ].join('\n');
}

function credentials(counts: DumpCounts | undefined): string {
  if (!counts) return '-';
  return `${cell(both(counts.token))} / ${cell(counts.agentKey)}`;
}
