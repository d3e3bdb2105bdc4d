import { defineConfig } from 'tsup';

/** One entry per public subpath; test/package.test.ts checks this agrees with package.json. */
export const entries = {
  index: 'src/index.ts',
  openai: 'adapters/openai.ts',
  anthropic: 'adapters/anthropic.ts',
  'ai-sdk/openai': 'adapters/ai-sdk/openai.ts',
  'ai-sdk/anthropic': 'adapters/ai-sdk/anthropic.ts',
  'ai-sdk/google': 'adapters/ai-sdk/google.ts',
  google: 'adapters/google.ts',
  mistral: 'adapters/mistral.ts',
  groq: 'adapters/groq.ts',
  'langchain/openai': 'adapters/langchain/openai.ts',
  'langchain/anthropic': 'adapters/langchain/anthropic.ts',
  'openai-agents': 'adapters/openai-agents.ts',
  mcp: 'adapters/mcp.ts',
  fetch: 'adapters/fetch.ts',
  'backends/memory': 'src/backends/memory.ts',
  'backends/file': 'src/backends/file.ts',
  'audit-file': 'src/audit/file.ts',
  'testing/index': 'src/testing/index.ts',
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
  // The SDKs are optional peers: imported by their subpath, never bundled (their own subpaths,
  // such as @mistralai/mistralai/lib/http.js, included).
  external: [
    'openai', '@anthropic-ai/sdk', '@ai-sdk/openai', '@ai-sdk/anthropic', '@ai-sdk/google', '@google/genai',
    '@mistralai/mistralai', 'groq-sdk', '@langchain/openai', '@langchain/anthropic', '@langchain/core', '@openai/agents',
    '@modelcontextprotocol/sdk',
  ],
  target: 'node22',
  splitting: true,
  sourcemap: false,
});
