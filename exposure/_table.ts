/**
 * The exposure report as text tables: copies of the provider key by key length, protocol and
 * moment, each cell `hardened / standard / env` (the hardened transport beside its baselines);
 * then the agent's own credentials in the same dumps.
 */
import type { Copies } from './_count.ts';
import { type DumpCounts, type ExposureReport, HEAP_MOMENTS, MOMENTS, type RunResult, type SecretCopies } from './_harness.ts';
import type { Mode } from './_agent.ts';

const MODE_ORDER: readonly Mode[] = ['hardened', 'broker', 'standard', 'env'];

/** `7`, or `7+2` when 2 fragments (16+ characters) were found besides 7 full copies. */
function cell(copies: Copies | undefined): string {
  if (!copies) return '-';
  return copies.partial > 0 ? `${copies.full}+${copies.partial}` : String(copies.full);
}

function both(copies: SecretCopies | undefined): Copies | undefined {
  return copies && { full: copies.ascii.full + copies.utf16.full, partial: copies.ascii.partial + copies.utf16.partial };
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]!.length)));
  const line = (row: string[]) => row.map((text, i) => (i === 0 ? text.padEnd(widths[i]!) : text.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** The runs of one key length and protocol, by mode. */
function groups(report: ExposureReport): { label: string; runs: Map<Mode, RunResult> }[] {
  const out = new Map<string, Map<Mode, RunResult>>();
  for (const run of report.runs) {
    const label = `${run.keyLength} ${run.protocol}`;
    if (!out.has(label)) out.set(label, new Map());
    out.get(label)!.set(run.mode, run);
  }
  return [...out].map(([label, runs]) => ({ label, runs }));
}

export function formatReport(report: ExposureReport): string {
  const modes = MODE_ORDER.filter((mode) => report.runs.some((run) => run.mode === mode));
  const per = (runs: Map<Mode, RunResult>, pick: (run: RunResult) => Copies | undefined) =>
    modes.map((mode) => cell(runs.has(mode) ? pick(runs.get(mode)!) : undefined)).join(' / ');
  const keyRows = groups(report).map(({ label, runs }) => [
    label,
    ...MOMENTS.map((moment) => per(runs, (run) => both(run.memory[moment]?.key))),
    ...HEAP_MOMENTS.map((moment) => per(runs, (run) => run.heap[moment])),
    [...runs.values()].every((run) => run.keyDelivered) ? 'yes' : 'NO',
  ]);
  const credentialRows = [...new Set(report.runs.filter((run) => run.mode !== 'env').map((run) => `${run.mode} ${run.protocol}`))].flatMap((label) => {
    const runs = report.runs.filter((run) => `${run.mode} ${run.protocol}` === label);
    const rows = [[label, ...MOMENTS.map((moment) => credentials(runs.map((run) => run.memory[moment])))]];
    if (runs.some((run) => run.brokerMemory)) {
      rows.push(['  its broker process', ...MOMENTS.map((moment) => credentials(runs.map((run) => run.brokerMemory?.[moment])))]);
    }
    return rows;
  });
  // Broker mode: the broker's own process, which resolves the key and puts it in at the socket.
  const brokerRows = report.runs.filter((run) => run.brokerMemory).map((run) => [
    `${run.keyLength} ${run.protocol}`, ...MOMENTS.map((moment) => cell(both(run.brokerMemory![moment]?.key))),
  ]);
  const dumpKind = report.runs[0]?.dump === 'gcore' ? 'gcore core dumps' : 'process memory (/proc/<pid>/mem)';
  return [
    `Copies of the provider key in an agent process (${report.node}, ${report.platform}), by key length and protocol.`,
    `Each cell: ${modes.join(' / ')}. Memory: ${dumpKind}, ASCII and UTF-16 together; heap: V8 heap snapshot after forced GC.`,
    'N = full copies; N+n = n fragments of 16+ characters besides them. Each step: a completion, a streamed completion and',
    'a 401 quoting the key, against a provider sending long set-cookie/request-id headers and Azure-like URLs.',
    '',
    table(['key proto', ...MOMENTS, ...HEAP_MOMENTS.map((m) => `heap ${m}`), 'key sent'], keyRows),
    '',
    ...(brokerRows.length > 0 ? ['Broker mode: copies of the key in the broker process itself.', '', table(['key proto', ...MOMENTS], brokerRows), ''] : []),
    'The agent\'s own credentials in the same dumps: agent token (string) / agent key (bytes), most found over all key lengths.',
    '',
    table(['mode', ...MOMENTS], credentialRows),
  ].join('\n');
}

function credentials(counts: (DumpCounts | undefined)[]): string {
  const present = counts.filter((count): count is DumpCounts => count !== undefined);
  if (present.length === 0) return '-';
  const most = (pick: (count: DumpCounts) => Copies | undefined): Copies =>
    present.map(pick).reduce<Copies>((max, copies) => (copies && copies.full + copies.partial > max.full + max.partial ? copies : max), { full: 0, partial: 0 });
  return `${cell(most((count) => both(count.token)))} / ${cell(most((count) => count.agentKey))}`;
}
