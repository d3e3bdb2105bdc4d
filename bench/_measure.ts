/**
 * Side-by-side measurement: cases run in interleaved rounds (A B A B …) so that drift on a noisy
 * machine hits every case alike; we report medians with their spread across rounds, and ratios.
 */

export interface Stats {
  /** Median latency over every sample, microseconds. */
  median: number;
  p99: number;
  /** Operations per second, median of the per-round rates. */
  opsPerSecond: number;
  /** Lowest and highest per-round median, microseconds. */
  spread: [number, number];
  samples: number;
  /**
   * This process's CPU time (user + system) per operation, median of the per-round figures,
   * microseconds: what a case costs its own process, less swayed by other load on the machine
   * than latency (a loopback provider runs in a process of its own).
   */
  cpu: number;
}

export type Operation = () => Promise<unknown> | unknown;

export interface CompareOptions {
  rounds?: number;
  /** Operations per case per round. */
  perRound?: number;
  /** Operations in flight at once (1 = sequential). */
  concurrency?: number;
  warmup?: number;
}

export async function compare(cases: Record<string, Operation>, options: CompareOptions = {}): Promise<Record<string, Stats>> {
  const { rounds = 5, perRound = 200, concurrency = 1, warmup = 50 } = options;
  const names = Object.keys(cases);
  const samples = new Map<string, number[]>(names.map((n) => [n, []]));
  const roundMedians = new Map<string, number[]>(names.map((n) => [n, []]));
  const rates = new Map<string, number[]>(names.map((n) => [n, []]));
  const cpu = new Map<string, number[]>(names.map((n) => [n, []]));
  for (const name of names) for (let i = 0; i < warmup; i++) await cases[name]!();
  for (let round = 0; round < rounds; round++) {
    // Alternate the order each round so neither case always runs first.
    const order = round % 2 === 0 ? names : [...names].reverse();
    for (const name of order) {
      const { latencies, seconds, cpuMicros } = await runRound(cases[name]!, perRound, concurrency);
      cpu.get(name)!.push(cpuMicros / perRound);
      samples.get(name)!.push(...latencies);
      roundMedians.get(name)!.push(quantile(latencies, 0.5));
      rates.get(name)!.push(perRound / seconds);
    }
  }
  return Object.fromEntries(
    names.map((name) => {
      const all = samples.get(name)!;
      const medians = roundMedians.get(name)!;
      return [name, {
        median: quantile(all, 0.5),
        p99: quantile(all, 0.99),
        opsPerSecond: quantile(rates.get(name)!, 0.5),
        spread: [Math.min(...medians), Math.max(...medians)],
        samples: all.length,
        cpu: quantile(cpu.get(name)!, 0.5),
      }];
    }),
  );
}

async function runRound(op: Operation, count: number, concurrency: number) {
  const latencies: number[] = [];
  let next = 0;
  const started = process.hrtime.bigint();
  const cpuStart = process.cpuUsage();
  const lane = async () => {
    while (next < count) {
      next++;
      const t0 = process.hrtime.bigint();
      await op();
      latencies.push(Number(process.hrtime.bigint() - t0) / 1_000);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  const { user, system } = process.cpuUsage(cpuStart);
  return { latencies, seconds: Number(process.hrtime.bigint() - started) / 1e9, cpuMicros: user + system };
}

export function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

export function us(value: number): string {
  return value >= 1_000 ? `${(value / 1_000).toFixed(2)} ms` : `${value.toFixed(1)} µs`;
}

export function ratio(a: number, b: number): string {
  return `${(a / b).toFixed(3)}×`;
}
