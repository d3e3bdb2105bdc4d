/**
 * Issue 20's figures against their targets, from the sections this run measured: each a ratio
 * against its baseline measured in the same rounds (or an absolute figure where the target is
 * one), and whether it is met. What a section did not measure is left out.
 */
import type { Stats } from './_measure.ts';

type Row = [figure: string, measured: string, target: string, met: string];

const times = (value: number) => `${value.toFixed(2)}×`;
const check = (ok: boolean) => (ok ? 'met' : 'missed');

function ratioRow(figure: string, stats: Record<string, Stats> | undefined, plain: string, wrapped: string, target: number): Row[] {
  const base = stats?.[plain];
  const case_ = stats?.[wrapped];
  if (!base || !case_) return [];
  const r = case_.median / base.median;
  const cpu = base.cpu > 0 ? `, CPU ${times(case_.cpu / base.cpu)}` : '';
  return [[figure, `${times(r)} (${(case_.median / 1e3).toFixed(2)} vs ${(base.median / 1e3).toFixed(2)} ms${cpu})`, `≤ ${times(target)}`, check(r <= target)]];
}

export interface MeasuredSections {
  requests?: Record<string, Record<string, Stats>>;
  resolution?: Record<string, Stats>;
  coldStart?: { groups: Record<string, { baseline: string; cases: Record<string, { wallMs: { median: number } }> }> };
  broker?: { added: Record<string, { median: number; p99: number }> };
}

export function targetRows(results: MeasuredSections): Row[] {
  const rows: Row[] = [];
  const requests = results.requests;
  if (requests) {
    rows.push(
      ...ratioRow('wrapped OpenAI vs plain, sequential', requests['OpenAI chat.completions, sequential'], 'plain OpenAI', 'agent-vault OpenAI', 1.05),
      ...ratioRow('wrapped Anthropic vs plain, sequential', requests['Anthropic messages, sequential'], 'plain Anthropic', 'agent-vault Anthropic', 1.05),
      ...ratioRow('wrapped OpenAI vs plain, 64 in flight', requests['OpenAI chat.completions, 64 in flight'], 'plain OpenAI', 'agent-vault OpenAI', 1.1),
      ...ratioRow('wrapped Anthropic vs plain, 64 in flight', requests['Anthropic messages, 64 in flight'], 'plain Anthropic', 'agent-vault Anthropic', 1.1),
    );
  }
  const use = results.resolution?.['file + audit'];
  if (use) {
    const memory = results.resolution?.['memory, no audit'];
    const vs = memory ? ` (${times(use.median / memory.median)} the memory backend without audit)` : '';
    rows.push(['vault.use(), file backend + audit', `${use.median.toFixed(1)} µs${vs}`, '≤ 15 µs', check(use.median <= 15)]);
  }
  const library = results.coldStart?.groups['library: process start → first key ready'];
  const plain = library?.cases[library.baseline];
  const vault = library?.cases['agent-vault, no audit'];
  if (plain && vault) {
    const added = vault.wallMs.median - plain.wallMs.median;
    rows.push(['cold start to first key vs plain SDK', `+${added.toFixed(0)} ms (${times(vault.wallMs.median / plain.wallMs.median)})`, '≤ +30 ms', check(added <= 30)]);
  }
  const broker = results.broker?.added['sequential'];
  if (broker) {
    rows.push(['broker added, sequential, median / p99', `+${(broker.median / 1e3).toFixed(2)} / +${(broker.p99 / 1e3).toFixed(2)} ms`, '≤ 0.3 / 1 ms', check(broker.median <= 300 && broker.p99 <= 1_000)]);
  }
  return rows;
}
