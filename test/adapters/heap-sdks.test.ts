/**
 * The heap check of heap.test.ts for the other SDK adapters: after a call and a stream through
 * each (and, for the Agents SDK, a trace export), a heap snapshot of the client process holds no
 * copy of the key, while the control string kept on purpose is found. For MCP: a connect, a tool
 * list and a tool call through the Streamable HTTP transport.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { heapDir, occurrences, snapshotAfterRequests } from './_heap.ts';
import { heapHandler, scenarios } from './_heap-scenarios.ts';
import { keyIn } from './_sdk-matrix.ts';

const dir = heapDir();
const child = join(import.meta.dirname, '_heap-child.ts');

describe('SDK adapters: the client process holds no copy of the key after its requests (V8 heap snapshot)', () => {
  for (const [name, scenario] of Object.entries(scenarios)) {
    it(`${name}: 0 copies of the key; the kept control string is found`, async () => {
      const { keyCopies, controlCopies, snapshot } = await snapshotAfterRequests(dir, {
        child,
        args: [name, 'vault'],
        handler: scenario.server ?? heapHandler(),
        baseURL: scenario.baseURL,
        keyOf: (request) => keyIn(request, scenario.keyHeader),
      });
      expect(controlCopies).toBeGreaterThanOrEqual(1);
      expect(occurrences(snapshot, 'agent-vault-placeholder-')).toBeGreaterThanOrEqual(1);
      expect(keyCopies).toBe(0);
    }, 60_000);
  }
});
