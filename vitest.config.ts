import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    reporters: ['default', './test/_setup/group-summary.ts'],
    globalSetup: ['scripts/build-if-stale.ts'],
    testTimeout: 30_000,
    // The owner's remembered vault states go to a throwaway directory, never the real ~/.config.
    env: { AGENT_VAULT_CONFIG_DIR: join(tmpdir(), `agent-vault-test-config-${process.pid}`) },
    hookTimeout: 60_000,
    // Subprocess and crash tests share 2 cores; more workers only add contention.
    maxWorkers: 2,
  },
});
