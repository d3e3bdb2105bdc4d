/**
 * The exposure row of broker mode, asserted: the plain SDK in the agent process, given only a
 * broker URL and a phantom key, holds no copy of the provider key and none of the agent token or
 * agent key; the broker process (the real `agent-vault broker` command) holds no copy of the key
 * either, since it injects it at the socket. The control (the env mode) shows the scan finds copies.
 */
import { describe, expect, it } from 'vitest';
import { measureExposure } from '../../exposure/_harness.ts';

describe.skipIf(process.platform !== 'linux')('broker mode exposure (memory read through /proc)', () => {
  it('0 copies of the key in the agent and in the broker; the agent holds no token; env mode holds the key', async () => {
    const report = await measureExposure({ modes: ['broker', 'env'], protocols: ['http'], moments: ['in flight', 'after'], concurrency: 2 });
    const broker = report.runs.find((run) => run.mode === 'broker')!;
    const env = report.runs.find((run) => run.mode === 'env')!;
    expect(broker.keyDelivered).toBe(true);
    const none = { full: 0, partial: 0 };
    for (const moment of ['in flight', 'after'] as const) {
      expect(broker.memory[moment]!.key).toEqual({ ascii: none, utf16: none });
      expect(broker.memory[moment]!.token).toEqual({ ascii: none, utf16: none });
      expect(broker.memory[moment]!.agentKey).toEqual(none);
      expect(broker.brokerMemory![moment]!.key).toEqual({ ascii: none, utf16: none });
      expect(env.memory[moment]!.key.ascii.full).toBeGreaterThan(0);
    }
    // The broker is where the vault access lives: its agent key is found there, so the scan sees it.
    expect(broker.brokerMemory!['in flight']!.agentKey!.full).toBeGreaterThan(0);
    expect(broker.heap['in flight']).toEqual(none);
  }, 180_000); // two agent processes and two memory scans: minutes on a loaded machine
});
