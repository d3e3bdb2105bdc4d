import { defineConfig } from 'tsup';

/** One entry per public subpath; test/package.test.ts checks this agrees with package.json. */
export const entries = {
  index: 'src/index.ts',
  openai: 'adapters/openai.ts',
  anthropic: 'adapters/anthropic.ts',
  fetch: 'adapters/fetch.ts',
  'backends/memory': 'src/backends/memory.ts',
  'backends/file': 'src/backends/file.ts',
  'audit-file': 'src/audit/file.ts',
  'testing/index': 'src/testing/index.ts',
  'server/index': 'src/server/index.ts',
};

/** The CLI: an executable, not an export (the package's `bin`). */
export const binEntries = {
  'cli/index': 'src/cli/index.ts',
};

export default defineConfig({
  entry: { ...entries, ...binEntries },
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  // The SDKs and the PostgreSQL driver are optional peers: imported by their subpath, never bundled.
  external: ['openai', '@anthropic-ai/sdk', 'pg'],
  target: 'node22',
  // node:sqlite exists only under its node: name; stripping the prefix would break it.
  removeNodeProtocol: false,
  splitting: true,
  sourcemap: false,
});
