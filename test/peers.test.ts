/**
 * The classifier behind MissingPeerError (src/_peers.ts), on Node's error shapes for layouts the
 * packed-package test (test/package-peers.test.ts) does not build: pnpm's store, Windows paths,
 * subpath imports. What it must never do is turn some other failure into "install X".
 */
import { describe, expect, it } from 'vitest';
import { asMissingPeer } from '../src/_peers.ts';
import { MissingPeerError } from '../src/errors.ts';

function esmNotFound(pkg: string, importer: string): Error {
  return Object.assign(new Error(`Cannot find package '${pkg}' imported from ${importer}`), { code: 'ERR_MODULE_NOT_FOUND' });
}

function cjsNotFound(specifier: string, requireStack: string[]): Error {
  const message = `Cannot find module '${specifier}'\nRequire stack:\n${requireStack.map((file) => `- ${file}`).join('\n')}`;
  return Object.assign(new Error(message), { code: 'MODULE_NOT_FOUND', requireStack });
}

describe('asMissingPeer', () => {
  it('a peer missing for one of our files, in npm, pnpm and Windows layouts', () => {
    for (const importer of [
      '/app/node_modules/agent-vault/dist/chunk-X.js',
      '/app/node_modules/.pnpm/agent-vault@0.1.0_openai@7.0.0/node_modules/agent-vault/dist/_openai.js',
      'C:\\app\\node_modules\\agent-vault\\dist\\chunk-X.js',
      '/home/dev/agent-vault/dist/chunk-X.js', // a checkout, linked
    ]) {
      const error = asMissingPeer(esmNotFound('openai', importer), 'agent-vault/openai');
      expect(error, importer).toBeInstanceOf(MissingPeerError);
      expect(error!.packageName).toBe('openai');
      expect(error!.message).toMatch(/^agent-vault\/openai needs the optional package openai \(\^4[^)]*\), which is not installed\. Install it: npm install openai$/);
    }
  });

  it('a subpath of a scoped peer names the package, with the original error as the cause', () => {
    const original = cjsNotFound('@mistralai/mistralai/lib/http.js', ['/app/node_modules/agent-vault/dist/chunk-M.cjs', '/app/index.js']);
    const error = asMissingPeer(original, 'agent-vault/mistral');
    expect(error?.packageName).toBe('@mistralai/mistralai');
    expect(error?.message).toContain('npm install @mistralai/mistralai');
    expect(error?.cause).toBe(original);
  });

  it('leaves alone what is not our peer missing for our file', () => {
    const cases: [string, unknown][] = [
      ['a dependency of the SDK', esmNotFound('formdata-node', '/app/node_modules/openai/index.mjs')],
      ['a peer missing inside another package', cjsNotFound('openai', ['/app/node_modules/@langchain/openai/dist/index.cjs'])],
      ['a peer missing inside a pnpm package', esmNotFound('openai', '/app/node_modules/.pnpm/@langchain+openai@1.6.0/node_modules/@langchain/openai/index.js')],
      ['a package that is not a peer', esmNotFound('left-pad', '/app/node_modules/agent-vault/dist/x.js')],
      ['one of our own files missing', cjsNotFound('./_openai.cjs', ['/app/node_modules/agent-vault/dist/openai.cjs'])],
      ['a package-name prefix', esmNotFound('openai-extra', '/app/node_modules/agent-vault/dist/x.js')],
      ['another code', Object.assign(esmNotFound('openai', '/app/node_modules/agent-vault/dist/x.js'), { code: 'ERR_PACKAGE_PATH_NOT_EXPORTED' })],
      ['no code', new Error("Cannot find package 'openai' imported from /app/node_modules/agent-vault/dist/x.js")],
      ['a syntax error', new SyntaxError('Unexpected end of input')],
      ['not an Error', { code: 'ERR_MODULE_NOT_FOUND', message: "Cannot find package 'openai' imported from /x.js" }],
    ];
    for (const [what, error] of cases) expect(asMissingPeer(error, 'agent-vault/openai'), what).toBeUndefined();
  });
});
