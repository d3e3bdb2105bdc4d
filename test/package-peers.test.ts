/**
 * Optional peers, through the packed package in a fresh project: a subpath whose SDK (or the
 * server's PostgreSQL driver) is not installed throws a MissingPeerError naming the package, its
 * range and the `npm install` line, under `import` and `require`; installed, the subpath loads
 * and exports what its code exports; and any other failure to load the SDK (a syntax error, a
 * dependency of the SDK missing) reaches the caller as Node reported it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { linkPackage, type PackedProject, packedProject, removePackage, writePackage } from './_fixtures/packed-project.ts';

const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8')) as {
  exports: Record<string, unknown>;
  peerDependencies: Record<string, string>;
};

/** Each adapter subpath and the peer(s) it loads, in the order Node finds them missing. */
const ADAPTER_PEERS: Record<string, string[]> = {
  openai: ['openai'],
  anthropic: ['@anthropic-ai/sdk'],
  'ai-sdk/openai': ['@ai-sdk/openai'],
  'ai-sdk/anthropic': ['@ai-sdk/anthropic'],
  'ai-sdk/google': ['@ai-sdk/google'],
  google: ['@google/genai'],
  mistral: ['@mistralai/mistralai'],
  groq: ['groq-sdk'],
  'langchain/openai': ['@langchain/openai'],
  'langchain/anthropic': ['@langchain/anthropic'],
  'openai-agents': ['@openai/agents', 'openai'],
  mcp: ['@modelcontextprotocol/sdk'],
};
/** The subpaths that load no peer. */
const PEERLESS = ['', 'fetch', 'backends/memory', 'backends/file', 'audit-file', 'testing', 'server'];

/** A script that loads each subpath and prints what it threw (ESM `import()` or CJS `require`). */
function loadEach(subpaths: string[], type: 'module' | 'commonjs'): string {
  const load = type === 'module' ? '(s) => import(s)' : '(s) => require(s)';
  const core = type === 'module' ? "await import('agent-vault')" : "require('agent-vault')";
  return `(async () => {
    const { VaultError, MissingPeerError } = ${core};
    const load = ${load};
    const out = {};
    for (const subpath of ${JSON.stringify(subpaths)}) {
      try { out[subpath] = { loaded: Object.keys(await load(subpath)).sort() }; }
      catch (e) {
        out[subpath] = { name: e.name, code: e.code, packageName: e.packageName, message: e.message,
          vaultError: e instanceof VaultError, missingPeer: e instanceof MissingPeerError, cause: e.cause?.code };
      }
    }
    console.log(JSON.stringify(out));
  })();`;
}

type Outcome = { loaded?: string[]; name?: string; code?: string; packageName?: string; message?: string; vaultError?: boolean; missingPeer?: boolean; cause?: string };

let project: PackedProject;

function outcomes(subpaths: string[], type: 'module' | 'commonjs'): Record<string, Outcome> {
  const { stdout, stderr, status } = project.run(loadEach(subpaths, type), type);
  expect(status, stderr).toBe(0);
  return JSON.parse(stdout) as Record<string, Outcome>;
}

/** `openStore` on a PostgreSQL URL nothing listens on, in the project: what it threw. */
function openPostgres(type: 'module' | 'commonjs'): { code: string; message: string; vaultError: boolean } {
  const load = type === 'module' ? '(s) => import(s)' : '(s) => require(s)';
  const { stdout, stderr, status } = project.run(
    `(async () => {
      const load = ${load};
      const { openStore } = await load('agent-vault/server');
      const { VaultError } = await load('agent-vault');
      try { await openStore('postgres://127.0.0.1:9/none'); console.log('{}'); }
      catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message, vaultError: e instanceof VaultError })); }
    })();`,
    type,
  );
  expect(status, stderr).toBe(0);
  return JSON.parse(stdout) as { code: string; message: string; vaultError: boolean };
}

beforeAll(() => {
  project = packedProject();
}, 120_000);

describe('a fresh project with none of the optional peers installed', () => {
  it('the lists above cover every subpath the package exports', () => {
    const subpaths = Object.keys(pkg.exports).filter((s) => s !== './package.json').map((s) => s.replace(/^\.\/?/, ''));
    expect(subpaths.sort()).toEqual([...Object.keys(ADAPTER_PEERS), ...PEERLESS].sort());
  });

  for (const type of ['module', 'commonjs'] as const) {
    it(`every adapter subpath throws MissingPeerError with the npm install line (${type})`, () => {
      const results = outcomes(Object.keys(ADAPTER_PEERS).map((s) => `agent-vault/${s}`), type);
      for (const [subpath, peers] of Object.entries(ADAPTER_PEERS)) {
        const result = results[`agent-vault/${subpath}`]!;
        expect(result, subpath).toMatchObject({ name: 'MissingPeerError', code: 'MISSING_PEER', vaultError: true, missingPeer: true });
        expect(peers, subpath).toContain(result.packageName);
        const peer = result.packageName!;
        expect(result.message).toContain(`agent-vault/${subpath} needs the optional package ${peer} (${pkg.peerDependencies[peer]})`);
        expect(result.message).toMatch(new RegExp(`Install it: npm install ${peer.replace('/', '\\/')}$`));
        // Node's own error stays reachable as the cause, for --debug and bug reports.
        expect(result.cause).toBe(type === 'module' ? 'ERR_MODULE_NOT_FOUND' : 'MODULE_NOT_FOUND');
      }
      expect(results['agent-vault/openai']!.message).toContain('npm install openai');
    });

    it(`the core, fetch and server subpaths load without any peer (${type})`, () => {
      const results = outcomes(PEERLESS.map((s) => (s ? `agent-vault/${s}` : 'agent-vault')), type);
      for (const [subpath, result] of Object.entries(results)) expect(result.loaded, `${subpath}: ${result.message}`).toBeDefined();
      expect(results['agent-vault']!.loaded).toContain('openVault');
    });

    it(`the server's PostgreSQL store without pg throws MissingPeerError with npm install pg (${type})`, () => {
      const result = openPostgres(type);
      expect(result).toMatchObject({ code: 'MISSING_PEER', vaultError: true });
      expect(result.message).toContain(`needs the optional package pg (${pkg.peerDependencies.pg})`);
      expect(result.message).toMatch(/Install it: npm install pg$/);
    });
  }
});

describe('the same project with a broken SDK', () => {
  // A stand-in `openai` whose own code fails to load, both module systems.
  const standIn = (esm: string, cjs: string) => ({
    'package.json': JSON.stringify({
      name: 'openai', version: '7.0.0', exports: { '.': { import: './index.mjs', require: './index.cjs' } },
    }),
    'index.mjs': esm,
    'index.cjs': cjs,
  });

  for (const type of ['module', 'commonjs'] as const) {
    it(`a dependency of the SDK that is missing reaches the caller as Node reported it (${type})`, () => {
      writePackage(project.dir, 'openai', standIn(
        "import 'a-dependency-of-openai';\nexport default class OpenAI {}",
        "require('a-dependency-of-openai');\nmodule.exports = class OpenAI {};",
      ));
      try {
        const result = outcomes(['agent-vault/openai'], type)['agent-vault/openai']!;
        expect(result.missingPeer).toBe(false);
        expect(result.code).toBe(type === 'module' ? 'ERR_MODULE_NOT_FOUND' : 'MODULE_NOT_FOUND');
        expect(result.message).toContain("'a-dependency-of-openai'");
      } finally {
        removePackage(project.dir, 'openai');
      }
    });

    it(`a syntax error in the SDK reaches the caller unchanged (${type})`, () => {
      writePackage(project.dir, 'openai', standIn('export default class OpenAI {', 'module.exports = class OpenAI {'));
      try {
        const result = outcomes(['agent-vault/openai'], type)['agent-vault/openai']!;
        expect(result).toMatchObject({ name: 'SyntaxError', missingPeer: false, vaultError: false });
      } finally {
        removePackage(project.dir, 'openai');
      }
    });

    it(`an SDK whose own dependency is another of our peers, missing, is reported as Node reported it (${type})`, () => {
      // @langchain/openai depends on openai; its absence there is a broken install of @langchain/openai, not our missing peer.
      writePackage(project.dir, '@langchain/openai', {
        'package.json': JSON.stringify({ name: '@langchain/openai', version: '1.6.0', exports: { '.': { import: './index.mjs', require: './index.cjs' } } }),
        'index.mjs': "import 'openai';\nexport class ChatOpenAI {}\nexport class OpenAIEmbeddings {}",
        'index.cjs': "require('openai');\nexports.ChatOpenAI = class {};\nexports.OpenAIEmbeddings = class {};",
      });
      try {
        const result = outcomes(['agent-vault/langchain/openai'], type)['agent-vault/langchain/openai']!;
        expect(result).toMatchObject({ missingPeer: false, code: type === 'module' ? 'ERR_MODULE_NOT_FOUND' : 'MODULE_NOT_FOUND' });
        expect(result.message).toMatch(/Cannot find (package|module) 'openai'/);
      } finally {
        removePackage(project.dir, '@langchain/openai');
      }
    });
  }
});

describe('the same project with the peers installed', () => {
  beforeAll(() => {
    for (const peer of Object.keys(pkg.peerDependencies)) linkPackage(project.dir, peer);
  });

  for (const type of ['module', 'commonjs'] as const) {
    it(`every adapter subpath loads and exports exactly what its code exports (${type})`, () => {
      const dist = join(project.dir, 'node_modules', 'agent-vault', 'dist');
      const subpaths = Object.keys(ADAPTER_PEERS);
      // The built code behind each public file, loaded by path: what the subpath must re-export, name for name.
      const privateFiles = subpaths.map((s) => join(dist, s.replace(/[^/]+$/, (last) => `_${last}`)) + (type === 'module' ? '.js' : '.cjs'));
      const results = outcomes([...subpaths.map((s) => `agent-vault/${s}`), ...privateFiles], type);
      subpaths.forEach((subpath, i) => {
        const loaded = results[`agent-vault/${subpath}`]!.loaded;
        expect(loaded, `${subpath}: ${results[`agent-vault/${subpath}`]!.message}`).toBeDefined();
        expect(loaded!.filter((name) => name !== '__esModule' && name !== 'module.exports')).toEqual(
          results[privateFiles[i]!]!.loaded!.filter((name) => name !== '__esModule' && name !== 'module.exports'),
        );
        expect(loaded!.length).toBeGreaterThan(0);
      });
      expect(results['agent-vault/openai']!.loaded).toEqual(expect.arrayContaining(['AzureOpenAI', 'OpenAI', 'withVault']));
    }, 60_000); // twelve SDKs loaded in one process: a few seconds, more on a busy machine

    it(`with pg installed, the PostgreSQL store gets as far as connecting (${type})`, () => {
      expect(openPostgres(type)).toMatchObject({ code: 'BACKEND', vaultError: true });
    });

    it(`the OpenAI client is still a subclass of the installed SDK's (${type})`, () => {
      const code = type === 'module'
        ? "const { OpenAI } = await import('agent-vault/openai'); const sdk = await import('openai'); console.log(OpenAI.prototype instanceof sdk.default);"
        : "const { OpenAI } = require('agent-vault/openai'); console.log(OpenAI.prototype instanceof require('openai').OpenAI);";
      const { stdout, stderr, status } = project.run(type === 'module' ? code : `(() => { ${code} })()`, type);
      expect(status, stderr).toBe(0);
      expect(stdout.trim()).toBe('true');
    });
  }
});
