import { join } from 'node:path';
import type { Plugin, PluginBuild } from 'esbuild';
import { defineConfig } from 'tsup';
import packageJson from './package.json' with { type: 'json' };
import { packageOf, PEER_RANGES } from './src/_peers.ts';

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
  'server/index': 'src/server/index.ts',
};

/** The CLI: an executable, not an export (the package's `bin`). */
export const binEntries = {
  'cli/index': 'src/cli/index.ts',
};

const root = import.meta.dirname;
const WRAPPER = 'agent-vault-peer-entry';

/** What an entry's module exports and whether it imports a peer statically (so loading it can fail for want of one). */
interface EntryFace {
  exports: string[];
  importsPeer: boolean;
}

/** One look per source file, shared by the ESM and CJS builds (tsup runs both in this process). */
const faces = new Map<string, Promise<EntryFace>>();

/**
 * A subpath that imports an optional peer statically fails, when the peer is not installed, with
 * Node's bare ERR_MODULE_NOT_FOUND, before any of its code runs (ESM links the whole graph
 * first; the CJS chunks require the SDK at their top). So such an entry is built twice: its code
 * as a private `_name` file beside it, and under its public name a small wrapper that loads that
 * file (`await import` in ESM, `require` in CJS) and turns the peer's absence into a
 * MissingPeerError (src/_peers.ts), re-exporting every name unchanged. The public types come
 * from the source file itself (the dts build below), so they do not change.
 */
function peerEntries(): Plugin {
  return {
    name: 'peer-entries',
    async setup(build) {
      const cjs = build.initialOptions.define?.TSUP_FORMAT === '"cjs"';
      const face = (file: string) => {
        let found = faces.get(file);
        if (!found) faces.set(file, (found = readFace(build.esbuild, file)));
        return found;
      };
      const given = build.initialOptions.entryPoints as Record<string, string>;
      const rewritten: Record<string, string> = {};
      const looked = await Promise.all(Object.entries(given).map(async ([name, file]) => [name, file, await face(file)] as const));
      for (const [name, file, { importsPeer }] of looked) {
        if (!importsPeer) {
          rewritten[name] = file;
          continue;
        }
        rewritten[name] = `${WRAPPER}:${name}`;
        rewritten[privateName(name)] = file;
      }
      // A new object: tsup's own `entry` (which the dts build reads) stays as it was.
      build.initialOptions.entryPoints = rewritten;

      build.onResolve({ filter: new RegExp(`^${WRAPPER}:`) }, (args) => ({ path: args.path.slice(WRAPPER.length + 1), namespace: WRAPPER }));
      // The wrapper's load of its private file stays a runtime import of the built file beside it.
      build.onResolve({ filter: /^\.\/_/, namespace: WRAPPER }, (args) => ({ path: args.path, external: true }));
      // src/_peers.ts reads the peer ranges from package.json: ship those, not the whole file (scripts, devDependencies).
      build.onLoad({ filter: /package\.json$/ }, (args) => {
        if (args.path !== join(root, 'package.json')) return undefined;
        return { contents: JSON.stringify({ name: packageJson.name, peerDependencies: packageJson.peerDependencies }), loader: 'json' };
      });
      build.onLoad({ filter: /.*/, namespace: WRAPPER }, async (args) => {
        const name = args.path;
        const { exports } = await face(given[name]!);
        const file = `./${privateName(name).split('/').pop()}.${cjs ? 'cjs' : 'js'}`;
        const named = exports.filter((n) => n !== 'default');
        const peers = JSON.stringify(join(root, 'src/_peers.ts'));
        const feature = JSON.stringify(`agent-vault/${name}`);
        // CJS loads its file by a path from __dirname: esbuild routes `require` through a shared chunk's, whose `./` is
        // dist/. ESM loads the classifier only on failure, so a working import costs one small module more, no chunk.
        const contents = [
          cjs ? `import { asMissingPeer } from ${peers};` : '',
          'let entry;',
          cjs
            ? `try { entry = require(__dirname + ${JSON.stringify(file.slice(1))}); } catch (error) { throw asMissingPeer(error, ${feature}) ?? error; }`
            : `try { entry = await import(${JSON.stringify(file)}); } catch (error) { const { asMissingPeer } = await import(${peers}); throw asMissingPeer(error, ${feature}) ?? error; }`,
          named.length ? `export const { ${named.join(', ')} } = entry;` : '',
          exports.includes('default') ? 'export default entry.default;' : '',
        ].join('\n');
        return { contents, loader: 'js', resolveDir: root };
      });
    },
  };
}

/** `openai` → `_openai`, `ai-sdk/openai` → `ai-sdk/_openai`: beside the public file, never in `exports`. */
function privateName(name: string): string {
  return name.replace(/[^/]+$/, (last) => `_${last}`);
}

async function readFace(esbuild: PluginBuild['esbuild'], file: string): Promise<EntryFace> {
  const result = await esbuild.build({
    entryPoints: [join(root, file)], bundle: true, write: false, metafile: true, format: 'esm', platform: 'node',
    packages: 'external', outdir: join(root, 'dist'), logLevel: 'silent',
  });
  const output = Object.values(result.metafile.outputs).find((out) => out.entryPoint);
  if (!output) throw new Error(`tsup.config.ts: no output for ${file}`);
  const importsPeer = output.imports.some((i) => i.external && i.kind === 'import-statement' && Object.hasOwn(PEER_RANGES, packageOf(i.path) ?? ''));
  return { exports: output.exports, importsPeer };
}

export default defineConfig({
  entry: { ...entries, ...binEntries },
  format: ['esm', 'cjs'],
  dts: { entry: { ...entries, ...binEntries } },
  clean: true,
  // The SDKs and the PostgreSQL driver are optional peers: imported by their subpath, never bundled (their own subpaths,
  // such as @mistralai/mistralai/lib/http.js, included).
  external: [
    'openai', '@anthropic-ai/sdk', '@ai-sdk/openai', '@ai-sdk/anthropic', '@ai-sdk/google', '@google/genai',
    '@mistralai/mistralai', 'groq-sdk', '@langchain/openai', '@langchain/anthropic', '@langchain/core', '@openai/agents',
    '@modelcontextprotocol/sdk', 'pg',
  ],
  esbuildPlugins: [peerEntries()],
  target: 'node22',
  // node:sqlite exists only under its node: name; stripping the prefix would break it.
  removeNodeProtocol: false,
  splitting: true,
  sourcemap: false,
});
