import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { initCrypto } from '../../src/crypto.ts';
import { encodeToken } from '../../src/token.ts';
import { detect, mask, scan, secretNameFor } from '../../src/scan/index.ts';
import { tempDir } from '../_fixtures/index.ts';
import { makeMachine, randomText } from './_tree.ts';

beforeAll(() => initCrypto());

describe('scan over a developer machine', () => {
  const machine = makeMachine();
  const run = () => scan({ paths: [machine.project], homeDir: machine.home, env: { HOME: machine.home }, environment: false });

  it('finds every planted key, in the right file, with the right provider and variable', () => {
    const { findings } = run();
    for (const planted of machine.planted) {
      const match = findings.find((finding) => finding.path === join(machine.root, planted.file) && finding.value() === planted.value);
      expect(match, `${planted.file} ${planted.variable ?? planted.provider}`).toBeDefined();
      expect(match?.provider).toBe(planted.provider);
      if (planted.variable) expect(match?.variable).toBe(planted.variable);
    }
  });

  it('reports nothing else: no UUID, hash, URL, image or placeholder', () => {
    const { findings } = run();
    const plantedValues = new Set(machine.planted.map((planted) => planted.value));
    const extra = findings.filter((finding) => !plantedValues.has(finding.value()));
    expect(extra.map((finding) => finding.toJSON())).toEqual([]);
    expect(findings).toHaveLength(machine.planted.length);
  });

  it('says where: file:line for line files, server and field for MCP configs; marks git-ignored files', () => {
    const { findings } = run();
    const groq = findings.find((finding) => finding.path?.endsWith('.env.local') && finding.variable === 'GROQ_API_KEY');
    expect(groq).toMatchObject({ line: 1, gitIgnored: true, removal: 'line' });
    const stripe = findings.find((finding) => finding.variable === 'STRIPE_SECRET_KEY');
    expect(stripe?.line).toBe(2);
    const desktop = findings.find((finding) => finding.path?.endsWith('claude_desktop_config.json') && finding.server === 'openai');
    expect(desktop).toMatchObject({ field: 'env.OPENAI_API_KEY', removal: 'mcp-env' });
    expect(desktop?.where).toMatch(/claude_desktop_config\.json → openai\.env\.OPENAI_API_KEY$/);
    const claude = findings.find((finding) => finding.path?.endsWith('.claude.json'));
    expect(claude?.serverPath).toEqual(['projects', '/home/me/code/app', 'mcpServers', 'groq']);
    const header = findings.find((finding) => finding.server === 'remote');
    expect(header).toMatchObject({ field: 'headers.Authorization', removal: 'manual' });
    const alias = findings.find((finding) => finding.path?.endsWith('.bashrc') && finding.variable === undefined);
    expect(alias).toMatchObject({ line: 3, removal: 'manual' });
    expect(findings.find((finding) => finding.path?.endsWith('.env') && finding.line === 3)?.variable).toBe('OPENAI_API_KEY');
    expect(findings.filter((finding) => !finding.path?.endsWith('.env.local')).every((finding) => !finding.gitIgnored)).toBe(true);
  });

  it('names the malformed config it skipped, and does not enter git-ignored directories', () => {
    const { problems, findings } = run();
    expect(problems).toEqual([{ path: join(machine.home, '.cursor', 'mcp.json'), reason: expect.stringContaining('not valid JSON') }]);
    expect(findings.some((finding) => finding.path?.includes(`${join('app', 'dist')}`))).toBe(false);
  });

  it('never exposes a value through JSON, inspect or a spread copy', () => {
    const { findings } = run();
    const printed = JSON.stringify(findings) + inspect(findings, { depth: 5 }) + JSON.stringify(findings.map((finding) => ({ ...finding })));
    for (const planted of machine.planted) expect(printed).not.toContain(planted.value.slice(8, 24));
  });

  it('reads the process environment when asked', () => {
    const key = `sk-proj-${randomText(48)}`;
    const { findings } = scan({ paths: [machine.project], home: false, env: { OPENAI_API_KEY: key, PATH: '/usr/bin', SHA: 'a'.repeat(40) } });
    const env = findings.filter((finding) => finding.kind === 'environment');
    expect(env.map((finding) => [finding.variable, finding.where, finding.value() === key])).toEqual([
      ['OPENAI_API_KEY', 'environment $OPENAI_API_KEY', true],
    ]);
  });
});

describe('scan over odd files', () => {
  it('reports a binary .env as skipped, reads .envrc and *.env, and applies nested .gitignore negations', () => {
    const root = tempDir('agent-vault-odd-');
    const [a, b, c, d] = [1, 2, 3, 4].map(() => `sk-proj-${randomText(48)}`) as [string, string, string, string];
    writeFileSync(join(root, '.env'), Buffer.from([0x4f, 0x00, 0x01]));
    writeFileSync(join(root, '.envrc'), `export OPENAI_API_KEY=${a}\n`);
    mkdirSync(join(root, 'deploy', 'build', 'keep'), { recursive: true });
    writeFileSync(join(root, 'deploy', 'prod.env'), `OPENAI_API_KEY=${b}\n`);
    writeFileSync(join(root, 'deploy', '.gitignore'), 'build/*\n!build/keep/\n');
    // An ignored file in a directory we enter is read, and marked; the negation un-ignores keep/.
    writeFileSync(join(root, 'deploy', 'build', 'x.env'), `OPENAI_API_KEY=${d}\n`);
    writeFileSync(join(root, 'deploy', 'build', 'keep', '.env'), `OPENAI_API_KEY=${c}\n`);
    const report = scan({ paths: [root], environment: false, home: false });
    expect(report.problems).toEqual([{ path: join(root, '.env'), reason: expect.stringContaining('binary') }]);
    const byValue = new Map(report.findings.map((finding) => [finding.value(), finding]));
    expect([...byValue.keys()].sort()).toEqual([a, b, c, d].sort());
    expect([a, b, c, d].map((key) => byValue.get(key)?.gitIgnored)).toEqual([false, false, false, true]);
  });
});

describe('detectors', () => {
  it('recognise each provider by shape, and agent-vault tokens only with a valid checksum', () => {
    const token = encodeToken({ vaultId: new Uint8Array(16).fill(7), agentId: 'bot', generation: 1, loc: new Uint8Array(16).fill(3), ownerKey: new Uint8Array(32).fill(5), agentKey: new Uint8Array(32).fill(9) });
    expect(detect(undefined, token)).toBe('agent-vault');
    expect(detect(undefined, `${token.slice(0, -2)}${token.endsWith('AA') ? 'BB' : 'AA'}`)).toBeUndefined();
    expect(detect(undefined, `github_pat_${randomText(82, 'abcdefghijklmnopqrstuvwxyz0123456789_')}`)).toBe('github');
    expect(detect('WHATEVER', `sk-${randomText(48)}`)).toBe('openai');
  });

  it('refuse placeholders and non-secrets even in variables named like keys', () => {
    for (const value of [
      'your-key-here', 'sk-proj-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', 'sk-your-openai-key-goes-here-1234', '${OPENAI_API_KEY}',
      '$OPENAI_API_KEY', '<api-key>', 'changeme', 'sk-proj-0000000000000000000000000000', '123e4567-e89b-12d3-a456-426614174000',
      'https://user@example.com/path?q=1', 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk',
      'true', '3600', 'production-token-name', 'X-CSRF-Token', 'AKIAIOSFODNN7EXAMPLE',
    ]) {
      expect(detect('OPENAI_API_KEY', value), value).toBeUndefined();
      expect(detect('SERVICE_TOKEN', value), value).toBeUndefined();
    }
  });

  it('report random values in key-named variables only', () => {
    const hex = randomText(40, '0123456789abcdef');
    expect(detect('WEBHOOK_SECRET', hex)).toBe('generic');
    expect(detect('GIT_SHA', hex)).toBeUndefined();
    expect(detect('CACHE_KEY', hex)).toBeUndefined();
  });

  it('mask with at most a public prefix and the length', () => {
    const key = `sk-proj-${randomText(43)}`;
    expect(mask(key, 'openai')).toBe('sk-p…(51 chars)');
    expect(mask(randomText(40), 'generic')).toBe('…(40 chars)');
  });

  it('derive vault names from variables, Gemini to the broker route\'s secret', () => {
    expect(secretNameFor('OPENAI_API_KEY')).toBe('openai-api-key');
    expect(secretNameFor('GEMINI_API_KEY')).toBe('gemini-api-key');
    expect(secretNameFor('GOOGLE_API_KEY')).toBe('gemini-api-key');
    expect(secretNameFor('__X__')).toBe('x');
  });
});
