/**
 * Each SDK adapter subpath of the built package loads its own SDK and no other: a user who
 * installed only `groq-sdk` can import `agent-vault/groq`, and importing `agent-vault/mcp` does
 * not pull in five model SDKs.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');

/** What each subpath may load of the SDKs (their own dependencies aside). */
const allowed: Record<string, string[]> = {
  'ai-sdk/openai': ['@ai-sdk/openai'],
  'ai-sdk/anthropic': ['@ai-sdk/anthropic'],
  'ai-sdk/google': ['@ai-sdk/google'],
  google: ['@google/genai'],
  mistral: ['@mistralai/mistralai'],
  groq: ['groq-sdk'],
  // LangChain's packages depend on their providers' SDKs (@langchain/anthropic bundles its own).
  'langchain/openai': ['@langchain/openai', '@langchain/core', 'openai'],
  'langchain/anthropic': ['@langchain/anthropic', '@langchain/core', '@anthropic-ai/sdk'],
  'openai-agents': ['@openai/agents', 'openai'],
  mcp: ['@modelcontextprotocol/sdk'],
};
const sdks = [...new Set(Object.values(allowed).flat())];

/** The packages (by name) whose files `agent-vault/<subpath>` loads, ESM and CommonJS. */
function packagesLoadedBy(subpath: string): string[] {
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', `
    const seen = [];
    const { registerHooks, createRequire } = await import('node:module');
    registerHooks({ resolve(spec, ctx, next) { const r = next(spec, ctx); seen.push(r.url); return r; } });
    await import('agent-vault/${subpath}');
    seen.push(...Object.keys(createRequire(import.meta.url).cache ?? {}));
    console.log(JSON.stringify(seen));`], { cwd: root, encoding: 'utf8' });
  const names = (JSON.parse(out) as string[]).map((file) => {
    const tail = file.split('node_modules/').at(-1)!;
    return file.includes('node_modules/') ? tail.split('/').slice(0, tail.startsWith('@') ? 2 : 1).join('/') : undefined;
  });
  return [...new Set(names.filter((name): name is string => name !== undefined))];
}

describe('SDK adapter subpaths load only their own SDK', () => {
  for (const [subpath, own] of Object.entries(allowed)) {
    it(`agent-vault/${subpath}`, () => {
      const loaded = packagesLoadedBy(subpath);
      expect(loaded).toContain(own[0]);
      expect(loaded.filter((name) => sdks.includes(name) && !own.includes(name))).toEqual([]);
    }, 30_000);
  }
});
