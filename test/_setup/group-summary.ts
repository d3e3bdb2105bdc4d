/**
 * A vitest reporter that ends the run with one line per test group (test/security,
 * test/reliability, test/audit, …): how many tests passed, failed and were skipped, and the time
 * its files took. Used beside the default reporter.
 */
import type { Reporter, TestModule } from 'vitest/node';

export default class GroupSummary implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const groups = new Map<string, { passed: number; failed: number; skipped: number; ms: number }>();
    for (const module of modules) {
      const parts = module.relativeModuleId.split('/');
      const group = parts.length > 2 ? parts.slice(0, 2).join('/') : 'test';
      const totals = groups.get(group) ?? { passed: 0, failed: 0, skipped: 0, ms: 0 };
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') totals.passed++;
        else if (state === 'failed') totals.failed++;
        else totals.skipped++;
      }
      totals.ms += module.diagnostic().duration;
      groups.set(group, totals);
    }
    const lines = [...groups].sort(([a], [b]) => a.localeCompare(b)).map(([group, t]) =>
      `  ${group.padEnd(18)} ${String(t.passed).padStart(4)} passed  ${String(t.failed).padStart(3)} failed  ` +
        `${String(t.skipped).padStart(3)} skipped  ${(t.ms / 1000).toFixed(1).padStart(6)} s`);
    process.stdout.write(`\nBy group:\n${lines.join('\n')}\n`);
  }
}
