/**
 * `npm run bench`: every figure the README quotes, measured side by side in one run, printed as
 * tables and written to bench/results.json. Each figure is a median with its spread across
 * interleaved rounds; ratios compare cases measured in the same rounds.
 */
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { ratio, type Stats, us } from './_measure.ts';
import { type MeasuredSections, targetRows } from './_targets.ts';
import { auditBench } from './audit.ts';
import { brokerBench } from './broker.ts';
import { coldStart } from './cold-start.ts';
import { ownerOps } from './owner-ops.ts';
import { peers } from './peers.ts';
import { requests } from './requests.ts';
import { resolution } from './resolution.ts';
import { scale } from './scale.ts';
import { scanBench } from './scan.ts';
import { serverMode } from './server.ts';
import { sdks } from './sdks.ts';

const only = process.argv.slice(2);
const wanted = (section: string) => only.length === 0 || only.includes(section);
const results: Record<string, unknown> = {
  date: new Date().toISOString(),
  node: process.version,
  machine: `${cpus().length} × ${cpus()[0]?.model.trim()}`,
};

function table(title: string, rows: string[][]): void {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  console.log(`\n${title}`);
  for (const [i, row] of rows.entries()) {
    console.log(`  ${row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('   ')}`);
    if (i === 0) console.log(`  ${widths.map((w) => '─'.repeat(w)).join('   ')}`);
  }
}

/** `cpu`: also this process's CPU time per request, and its ratio (the request sections). */
function statsRows(stats: Record<string, Stats>, baseline?: string, cpu = false): string[][] {
  const header = ['case', 'median', 'p99', 'ops/s', 'round medians'];
  if (baseline) header.push(`median vs ${baseline}`, 'p99 vs', 'ops/s vs');
  if (cpu) header.push('CPU/op', ...(baseline ? ['CPU vs'] : []));
  return [header, ...Object.entries(stats).map(([name, s]) => {
    const row = [name, us(s.median), us(s.p99), Math.round(s.opsPerSecond).toLocaleString('en'), `${us(s.spread[0])}–${us(s.spread[1])}`];
    const base = baseline ? stats[baseline] : undefined;
    if (base) row.push(ratio(s.median, base.median), ratio(s.p99, base.p99), ratio(s.opsPerSecond, base.opsPerSecond));
    if (cpu) row.push(us(s.cpu), ...(base ? [ratio(s.cpu, base.cpu)] : []));
    return row;
  })];
}

const started = performance.now();
console.log(`agent-vault benchmarks — ${results.machine}, Node ${process.version}`);

if (wanted('requests')) {
  const r = await requests();
  results.requests = r;
  for (const [title, stats] of Object.entries(r)) table(`Request overhead: ${title}`, statsRows(stats, Object.keys(stats)[0], true));
}
if (wanted('broker')) {
  const r = await brokerBench();
  results.broker = r;
  for (const [title, stats] of Object.entries(r.latency)) table(`Broker: direct vs through the broker, ${title}`, statsRows(stats, 'direct'));
  table('Broker: added by the broker (median and p99 differences; the broker process\'s CPU per request)', [
    ['load', 'added median', 'added p99', 'broker CPU/req'],
    ...Object.entries(r.added).map(([load, a]) => [load, us(a.median), us(a.p99), us(a.brokerCpu)]),
    ['time to first SSE event', us(r.firstEvent.addedMedian), us(r.firstEvent.broker.p99 - r.firstEvent.direct.p99), ''],
  ]);
}
if (wanted('sdks')) {
  const r = await sdks();
  results.sdks = r;
  for (const [title, stats] of Object.entries(r)) table(`Request overhead (sequential): ${title}`, statsRows(stats, 'plain', true));
}
if (wanted('resolution')) {
  const r = await resolution();
  results.resolution = r;
  table('Resolution: vault.use() on one core', statsRows(r));
}
if (wanted('audit')) {
  const r = await auditBench();
  results.audit = r;
  table('Audit append: CPU per record, file sink (user + system; the cost of yielding taken off)', [
    ['pattern', 'CPU/record', 'round range'],
    ...Object.entries(r).map(([name, a]) => [name, us(a.cpuUsPerRecord), `${us(a.spread[0])}–${us(a.spread[1])}`]),
  ]);
}
if (wanted('cold-start')) {
  const r = await coldStart();
  results.coldStart = r;
  const ms = (value: number) => `${value.toFixed(1)} ms`;
  for (const [title, group] of Object.entries(r.groups)) {
    const base = group.cases[group.baseline]!;
    table(`Cold start, ${title} (medians of interleaved runs)`, [
      ['case', 'wall', 'range', 'CPU', 'wall vs baseline', 'added wall', 'CPU vs', 'added CPU'],
      ...Object.entries(group.cases).map(([name, c]) => [
        name, ms(c.wallMs.median), `${c.wallMs.min.toFixed(1)}–${ms(c.wallMs.max)}`, ms(c.cpuMs.median),
        ratio(c.wallMs.median, base.wallMs.median), ms(c.wallMs.median - base.wallMs.median),
        ratio(c.cpuMs.median, base.cpuMs.median), ms(c.cpuMs.median - base.cpuMs.median),
      ]),
    ]);
  }
}
if (wanted('peers')) {
  const r = await peers();
  results.peers = r;
  table('Peers: one key read at the moment of use', statsRows(r, 'agent-vault (file + audit)'));
}
if (wanted('owner')) {
  const r = await ownerOps();
  results.ownerOps = r;
  table(`Owner operations on a file vault of ${r.secrets.toLocaleString('en')} secrets (median)`, [
    ['operation', 'time'],
    [`unlock (Argon2id, opslimit ${r.unlockParams.opslimit}, ${r.unlockParams.memlimit >> 20} MiB)`, `${r.unlockMs.toFixed(0)} ms`],
    ['set (one new secret)', `${r.setMs.toFixed(1)} ms`],
    ['createAgent (grants 11 matching secrets)', `${r.createAgentMs.toFixed(0)} ms`],
    ['list (every record verified)', `${r.listMs.toFixed(0)} ms`],
  ]);
}
if (wanted('scale')) {
  const r = await scale();
  results.scale = r;
  table('Scale (memory backend): resolution stays flat; list grows with the vault', [
    ['secrets', 'resolve median', 'resolve p99', 'list'],
    ...r.map((row) => [row.secrets.toLocaleString('en'), us(row.resolveMedianUs), us(row.resolveP99Us), `${row.listMs.toFixed(0)} ms`]),
  ]);
}
if (wanted('scan')) {
  const r = await scanBench();
  results.scan = r;
  table(`Scan: a tree of ${r.files.toLocaleString('en')} files (${r.planted} keys planted, ${r.found} found)`, [
    ['run', 'time'],
    ['first (cold directory cache)', `${r.firstMs.toFixed(0)} ms`],
    ['then, median of 5', `${r.medianMs.toFixed(0)} ms (${r.rangeMs[0].toFixed(0)}–${r.rangeMs[1].toFixed(0)} ms)`],
  ]);
}

if (wanted('server')) {
  const r = await serverMode();
  results.server = r;
  table('Server mode: authenticated resolutions through one `serve` process (audit committed per resolution)', [
    ['store', 'resolutions/s', 'p50', 'p99', 'in flight', 'serve CPU/resolution', 'one idle core could do'],
    ...Object.entries(r.throughput).map(([name, t]) => [
      name, t.resolutionsPerSecond.toLocaleString('en'), `${t.p50Ms.toFixed(2)} ms`, `${t.p99Ms.toFixed(2)} ms`, String(t.concurrency),
      `${t.serverCpuUsPerResolution} µs`, `${Math.round(1e6 / t.serverCpuUsPerResolution).toLocaleString('en')}/s`,
    ]),
  ]);
  if (!r.throughput['PostgreSQL (one serve process)']) console.log('  (PostgreSQL: set AGENT_VAULT_TEST_POSTGRES to include it)');
  table('Server mode: the wrapped OpenAI client against the plain one, sequential', statsRows(r.sdk, 'plain OpenAI'));
}

const targets = targetRows(results as MeasuredSections);
if (targets.length > 0) table('Issue 20: each figure against its target (same run)', [['figure', 'measured', 'target', ''], ...targets]);

const seconds = (performance.now() - started) / 1_000;
results.seconds = seconds;
writeFileSync(join(import.meta.dirname, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
console.log(`\nwritten bench/results.json in ${seconds.toFixed(0)} s`);
