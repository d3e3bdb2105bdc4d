/**
 * DESIGN.md property 3, measured: after a request (and a forced GC), no reachable string in the
 * agent's V8 heap holds the provider key, in either agent-vault mode, for a short (32) and a long
 * (108) key. The env-var baseline shows what the check catches: the plain SDK client holds the
 * key as a string for its whole life.
 */
import { describe, expect, it } from 'vitest';
import { measureExposure } from '../../exposure/_harness.ts';

describe('heap snapshots (after forced GC) of an agent process making OpenAI calls', () => {
  it('hold no reachable copy of the key after a request in standard and hardened mode, and none in flight in hardened mode', async () => {
    const report = await measureExposure({ protocols: ['http'], keyLengths: [32, 108], dump: 'none', moments: [] });
    for (const length of [32, 108]) {
      const run = (mode: string) => report.runs.find((r) => r.mode === mode && r.keyLength === length)!;
      for (const mode of ['env', 'standard', 'hardened']) expect(run(mode).keyDelivered, `${mode} ${length}`).toBe(true);
      expect(run('standard').heap.after).toEqual({ full: 0, partial: 0 });
      expect(run('hardened').heap.after).toEqual({ full: 0, partial: 0 });
      expect(run('hardened').heap['in flight']).toEqual({ full: 0, partial: 0 });
      // The baseline: the SDK client keeps the key (client.apiKey), so the check can see copies.
      expect(run('env').heap.after!.full).toBeGreaterThan(0);
    }
  }, 300_000);
});
