import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    reporters: ['default', './test/_setup/group-summary.ts'],
    globalSetup: ['scripts/build-if-stale.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Subprocess and crash tests share 2 cores; more workers only add contention.
    maxWorkers: 2,
  },
});
