/**
 * Scale: resolution latency and list time from 10 to 10,000 secrets (memory backend). Not
 * 100,000: every owner `set` rewrites the whole signed state, so building that vault one set at a
 * time takes hours; `scale([100_000])` measures it anyway.
 */
import { openVault } from '../src/index.ts';
import { compare } from './_measure.ts';
import { memoryVault } from './_fixtures.ts';

export interface ScaleRow {
  secrets: number;
  resolveMedianUs: number;
  resolveP99Us: number;
  listMs: number;
}

export async function scale(sizes = [10, 100, 1_000, 10_000]): Promise<ScaleRow[]> {
  const rows: ScaleRow[] = [];
  for (const secrets of sizes) {
    const { backend, owner, token } = await memoryVault(secrets);
    const agent = await openVault({ backend, token, audit: false });
    const stats = await compare({ resolve: () => agent.use('openai-api-key', (s) => s.length) }, { rounds: 3, perRound: 500 });
    const started = performance.now();
    const listed = await owner.list();
    const listMs = performance.now() - started;
    if (listed.length !== secrets + 1) throw new Error(`list returned ${listed.length} of ${secrets + 1}`);
    rows.push({ secrets, resolveMedianUs: stats.resolve!.median, resolveP99Us: stats.resolve!.p99, listMs });
  }
  return rows;
}
