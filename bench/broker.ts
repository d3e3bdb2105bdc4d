/**
 * The broker's price: the same request to the same loopback provider, sent directly with the
 * key (what an SDK holding the key does) and through the broker with a phantom key, in one run:
 * latency at 1 and 64 in flight, the time to the first server-sent event, and requests per
 * second through the broker (one process, so one core).
 */
import { compare, quantile, type Stats } from './_measure.ts';
import { KEY } from './_fixtures.ts';
import { startBrokerProcess } from './_broker-process.ts';
import { startServer } from './_server.ts';

export interface BrokerBench {
  latency: Record<string, Record<string, Stats>>;
  /**
   * Added by the broker, microseconds: median and p99 differences at each load, and the broker
   * process's own CPU time per request through it (what a request costs the broker, which other
   * load on the machine sways far less than latency).
   */
  added: Record<string, { median: number; p99: number; brokerCpu: number }>;
  firstEvent: { direct: { median: number; p99: number }; broker: { median: number; p99: number }; addedMedian: number };
}

const BODY = JSON.stringify({ model: 'bench', messages: [{ role: 'user', content: 'hi' }] });

export async function brokerBench(): Promise<BrokerBench> {
  const server = await startServer();
  const broker = await startBrokerProcess(server.url);
  const send = (url: string, key: string) => async () => {
    const response = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: BODY });
    await response.arrayBuffer();
  };
  const direct = send(`${server.url}/v1/chat/completions`, KEY);
  const brokered = send(`${broker.url}/openai/v1/chat/completions`, broker.key);
  const latency: BrokerBench['latency'] = {};
  const added: BrokerBench['added'] = {};
  for (const [label, concurrency, perRound] of [['sequential', 1, 400], ['64 in flight', 64, 1_280]] as const) {
    const [rounds, warmup] = [6, 200];
    // The direct requests do not reach the broker: its CPU time over the run is the brokered ones'.
    const cpuBefore = await broker.cpu();
    const stats = await compare({ direct, 'through the broker': brokered }, { rounds, perRound, concurrency, warmup });
    const brokerCpu = (await broker.cpu() - cpuBefore) / (warmup + rounds * perRound);
    latency[label] = stats;
    added[label] = {
      median: stats['through the broker']!.median - stats.direct!.median,
      p99: stats['through the broker']!.p99 - stats.direct!.p99,
      brokerCpu,
    };
  }
  const firstEvent = await timeToFirstEvent(`${server.url}/v1/stream`, KEY, `${broker.url}/openai/v1/stream`, broker.key);
  await broker.close();
  await server.close();
  return { latency, added, firstEvent };
}

/** Request → first SSE chunk, alternating direct and brokered, the rest of each stream read after. */
async function timeToFirstEvent(directUrl: string, key: string, brokerUrl: string, phantom: string): Promise<BrokerBench['firstEvent']> {
  const times = { direct: [] as number[], broker: [] as number[] };
  const once = async (url: string, auth: string) => {
    const t0 = process.hrtime.bigint();
    const response = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${auth}`, 'content-type': 'application/json' }, body: '{"stream":true}' });
    const reader = response.body!.getReader();
    await reader.read();
    const elapsed = Number(process.hrtime.bigint() - t0) / 1_000;
    while (!(await reader.read()).done);
    return elapsed;
  };
  for (let i = 0; i < 1_200; i++) {
    const direct = await once(directUrl, key);
    const broker = await once(brokerUrl, phantom);
    if (i >= 200) {
      times.direct.push(direct);
      times.broker.push(broker);
    }
  }
  const summary = (values: number[]) => ({ median: quantile(values, 0.5), p99: quantile(values, 0.99) });
  const result = { direct: summary(times.direct), broker: summary(times.broker) };
  return { ...result, addedMedian: result.broker.median - result.direct.median };
}
