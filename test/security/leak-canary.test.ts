/**
 * The leak canary (DESIGN.md property 8): every operation and every failure path
 * runs with a canary secret, and everything a user, a log or a disk could see is searched for
 * it: console and stdout/stderr (in this process and in a child), SDK debug logs, the audit log,
 * every file under the vault directory, errors (message, stack, cause chain), util.inspect and
 * JSON.stringify of every object handed out. The canary may appear only where the user asked
 * for it: the value `get()` returns and the bytes inside `use()`.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  createVault, isVaultError, openVault, SecretBuffer, UsageError, VaultError,
} from '../../src/index.ts';
import { memoryBackend } from '../../src/backends/memory.ts';
import { fileBackend } from '../../src/backends/file.ts';
import { credentialOf, PROVIDER_SERVER, providerHandler } from '../adapters/_servers.ts';
import { collect, FAST_KDF, startServer, tempDir } from '../_fixtures/index.ts';
import { CLI_ENTRY, type CliResult, runCli } from '../cli/_cli.ts';
import { closedOrigin, DEBUG_ENV, echoEverything, FLAVORS, knownLeak, runScenario, SCENARIOS, TRANSPORTS } from './_leak-adapters.ts';
import { capturing } from './_leak-capture.ts';
import { AGENT_ID, canaryVault, isZero, NAME, PASSPHRASE, PATTERN, VALUE } from './_leak-fixture.ts';
import { expectClean, Observed } from './_leak-observed.ts';
import { LeakScanner } from './_leak-scan.ts';

const value = new LeakScanner({ value: VALUE });

describe('the scanner (positive controls: each must find the canary)', () => {
  it('finds the value in every form it looks for, and in every view of an object that holds it', async () => {
    const { agent } = await canaryVault();
    const revealed = await agent.get(NAME);
    expect(revealed).toBe(VALUE);
    expect(value.scan('get()', revealed)).toHaveLength(1);
    const bytes = Buffer.from(VALUE);
    const forms: [string, string | Uint8Array][] = [
      ['truncated', `…${VALUE.slice(5, 30)}…`],
      ['inspect of bytes', inspect(Uint8Array.from(bytes), { maxArrayLength: Infinity })],
      ['inspect of a Buffer', inspect(bytes, { maxArrayLength: Infinity })],
      ['hex', bytes.toString('hex')],
      ['UTF-16 bytes', Buffer.from(`xx${VALUE}yy`, 'utf16le')],
      ...[0, 1, 2].flatMap((offset): [string, string][] => {
        const framed = Buffer.concat([Buffer.alloc(offset, 0x20), bytes, Buffer.from('!')]);
        return [[`base64 at ${offset}`, framed.toString('base64')], [`base64url at ${offset}`, framed.toString('base64url')]];
      }),
    ];
    for (const [form, content] of forms) expect(value.scan(form, content), form).not.toEqual([]);
    // Deep views: a non-enumerable property, bytes in a Map, an error's cause.
    const hidden = Object.defineProperty({}, 'quiet', { value: { deeper: new Map([['k', Buffer.from(VALUE)]]) }, enumerable: false });
    expect(value.scanValue('hidden', hidden).map((f) => f.where)).toContainEqual(expect.stringMatching(/^hidden reachable/));
    const wrapped = new Error('outer', { cause: new Error('inner', { cause: new Error(`x ${VALUE}`) }) });
    expect(value.scanValue('error', wrapped).map((f) => f.where)).toContain('error error.cause.cause.message');
    // A file under a directory.
    const dir = tempDir();
    writeFileSync(join(dir, 'plain.txt'), `key=${Buffer.from(VALUE).toString('base64')}\n`);
    expect(value.scanDirectory(dir)).toContainEqual(expect.objectContaining({ where: 'file plain.txt', form: 'base64' }));
  });

  it('sees what a process prints to the console and to stdout/stderr', async () => {
    const lines: string[] = [];
    await capturing(lines, { LEAK_PROBE: 'on' }, async () => {
      console.log({ nested: { deeper: [VALUE.slice(0, 25)] } });
      process.stderr.write(Buffer.from(VALUE));
    });
    expect(lines.flatMap((line) => value.scan('line', line))).toHaveLength(2);
    expect(process.env.LEAK_PROBE).toBeUndefined();
  });
});

describe('vault operations', () => {
  it('every owner and agent operation: results, SecretBuffers, console, audit log and files hold no canary', async () => {
    const dir = tempDir();
    const seen = new Observed();
    const tokens: string[] = [];
    const called = new Set<string>();
    const revealed: string[] = [];
    await capturing(seen.lines, {}, async () => {
      const owner = seen.keep('createVault', await createVault({ dir, passphrase: PASSPHRASE, passphraseParams: FAST_KDF }));
      const reopened = seen.keep('openVault(owner)', await openVault({ dir, passphrase: PASSPHRASE }));
      seen.keep('set', await owner.set(NAME, VALUE));
      seen.keep('set bytes', await owner.set(`${NAME}-bytes`, Buffer.from(VALUE)));
      const created = await owner.createAgent(AGENT_ID, { allow: [PATTERN], ttl: '1h' });
      tokens.push(created.token);
      seen.keep('createAgent().agent', created.agent);
      const agent = seen.keep('openVault(agent)', await openVault({ dir, token: created.token }));
      for (const vault of [owner, reopened, agent]) {
        revealed.push(await vault.get(NAME));
        let during: SecretBuffer | undefined;
        const bytes = await vault.use(NAME, (secret) => {
          during = secret;
          seen.keep('SecretBuffer during use', secret);
          seen.keep('SecretBuffer during use, as a string', `${secret} ${String(secret)} ${JSON.stringify({ secret })}`);
          return secret.bytes;
        });
        expect(isZero(bytes)).toBe(true);
        seen.keep('SecretBuffer after use', during);
        const prepared = seen.keep('_prepare()', await vault._prepare(NAME));
        const target = new Uint8Array(prepared.length);
        prepared.decryptInto(target);
        expect(Buffer.from(target).toString()).toBe(VALUE);
        target.fill(0);
        prepared.dispose();
      }
      called.add('get').add('use').add('_prepare');
      seen.keep('list', await owner.list());
      seen.keep('listAgents', await owner.listAgents());
      seen.keep('set again', await owner.set(NAME, VALUE));
      revealed.push(await agent.get(NAME));
      const rotated = await owner.rotateAgent(AGENT_ID, { ttl: '2h' });
      tokens.push(rotated.token);
      seen.keep('rotateAgent().agent', rotated.agent);
      await seen.outcome('get with the rotated-away token', () => agent.get(NAME));
      const current = seen.keep('openVault(rotated token)', await openVault({ dir, token: rotated.token }));
      revealed.push(await current.get(NAME));
      seen.keep('revokeAgent', await owner.revokeAgent(AGENT_ID));
      seen.keep('delete', await owner.delete(`${NAME}-bytes`));
      seen.keep('verifyAudit', await owner.verifyAudit());
      seen.keep('_auditBroker', await agent._auditBroker({ action: 'broker.request', name: NAME, outcome: 'ok', note: 'key=k route=openai GET /openai/v1/models status=200 ms=1.0' }));
      seen.keep('readAudit', await collect(owner.readAudit()));
      seen.keep('readAudit filtered', await collect(owner.readAudit({ name: NAME })));
      seen.keep('role, agentId, id', [owner.role, owner.agentId, owner.id, agent.role, agent.agentId, agent.id]);
      seen.keep('toJSON', [owner.toJSON(), agent.toJSON()]);
      for (const vault of [owner, reopened, agent, current]) seen.keep('close', await vault.close());
      for (const name of ['list', 'listAgents', 'set', 'createAgent', 'rotateAgent', 'revokeAgent', 'delete', 'verifyAudit',
        'readAudit', '_auditBroker', 'role', 'agentId', 'id', 'toJSON', 'close']) called.add(name);
    });

    // Every public member of Vault was exercised here: a new one must be added to this test.
    const members = Object.getOwnPropertyNames(Object.getPrototypeOf(await createVault({ backend: memoryBackend(), passphrase: 'p', passphraseParams: FAST_KDF })))
      .filter((name) => name !== 'constructor');
    expect([...called].sort()).toEqual(members.sort());

    // The user asked for these: get() returns the value (and is the only API that did).
    expect(revealed).toEqual(Array(revealed.length).fill(VALUE));
    const credentials = new LeakScanner({ value: VALUE, passphrase: PASSPHRASE, ...Object.fromEntries(tokens.map((t, i) => [`token ${i}`, t])) });
    expectClean(seen.findings(credentials));
    const control = new Observed();
    control.keep('get() result', { revealed });
    control.keep('createAgent() result', { token: tokens[0] });
    expect(control.findings(credentials).map((f) => f.secret)).toEqual(expect.arrayContaining(['value', 'token 0']));

    // The audit log holds no value or credential, and no secret name: names are sealed to the owner,
    // who reads them back. (The actor field still names the agent id: the README says so.)
    const audit = readFileSync(join(dir, 'audit.jsonl'), 'utf8');
    expect(audit).not.toContain(NAME);
    expectClean(credentials.scan('audit.jsonl', audit));
    // Storage holds no value, credential, secret name, pattern or agent id (the audit log's actor names the agent).
    const names = new LeakScanner({ name: NAME, pattern: PATTERN, agent: AGENT_ID });
    expectClean([...credentials.scanDirectory(dir), ...names.scanDirectory(dir, (path, secret) => path === 'audit.jsonl' && secret === 'agent')]);
  });
});

describe('failure paths', () => {
  it('wrong credentials, revoked, rotated and expired agents, not granted, tampering, failing audit and storage: typed errors without the canary', async () => {
    const dir = tempDir();
    const seen = new Observed();
    const tokens: string[] = [];
    const outcomes: string[] = [];
    /** `fn` must reject with a VaultError (or, where `foreign`, whatever a custom backend threw). */
    const refused = async (where: string, fn: () => unknown, foreign = false) => {
      const error = await seen.outcome(where, fn);
      expect(error, `${where}: expected a refusal`).toBeInstanceOf(Error);
      if (!foreign) expect(isVaultError(error), `${where}: ${String(error)}`).toBe(true);
      outcomes.push(`${where}: ${(error as VaultError).code ?? (error as Error).name}`);
    };

    await capturing(seen.lines, {}, async () => {
      const owner = await createVault({ dir, passphrase: PASSPHRASE, passphraseParams: FAST_KDF });
      await owner.set(NAME, VALUE);
      await owner.set('not-for-the-agent', VALUE);
      const { token } = await owner.createAgent(AGENT_ID, { allow: [PATTERN], ttl: '1h' });
      tokens.push(token);
      const agent = await openVault({ dir, token });
      expect(await agent.get(NAME)).toBe(VALUE);

      // Credentials the user got wrong: what was typed must not be echoed either.
      await refused('wrong passphrase', () => openVault({ dir, passphrase: `${PASSPHRASE}-typo` }));
      await refused('truncated passphrase', () => openVault({ dir, passphrase: PASSPHRASE.slice(0, -1) }));
      await refused('a key file for a passphrase vault', () => openVault({ dir, keyFile: join(dir, 'no-such.key') }));
      const middle = Math.floor(token.length / 2);
      const altered = token.slice(0, middle) + (token[middle] === 'A' ? 'B' : 'A') + token.slice(middle + 1);
      for (const [what, bad] of [['altered', altered], ['extended', `${token}A`], ['truncated', token.slice(0, -3)],
        ['quoted', `"${token}"`], ['with a scheme', `Bearer ${token}`], ['with a space inside', `${token.slice(0, 30)} ${token.slice(30)}`]]) {
        await refused(`token ${what}`, async () => (await openVault({ dir, token: bad })).get(NAME));
      }
      await refused('token and passphrase together', () => openVault({ dir, token, passphrase: PASSPHRASE }));
      // The same through the environment: AGENT_VAULT_TOKEN_FILE, then AGENT_VAULT_TOKEN (deleted once read).
      const tokenFile = join(tempDir(), 'token');
      writeFileSync(tokenFile, `${altered}\n`);
      for (const env of [{ AGENT_VAULT_TOKEN_FILE: tokenFile }, { AGENT_VAULT_TOKEN: altered }] as Record<string, string>[]) {
        await refused(`token from ${Object.keys(env)[0]}`, () => capturing(seen.lines, env, async () => {
          try {
            return await (await openVault({ dir })).get(NAME);
          } finally {
            expect(process.env.AGENT_VAULT_TOKEN).toBeUndefined();
          }
        }));
      }
      // A key file that holds something else (the API key, pasted into the wrong file).
      const keyDir = tempDir();
      await createVault({ dir: join(keyDir, 'vault'), keyFile: join(keyDir, 'real.key'), audit: false });
      for (const mode of [0o600, 0o644]) {
        const keyFile = join(keyDir, `wrong-${mode.toString(8)}.key`);
        writeFileSync(keyFile, `${VALUE}\n`, { mode });
        await refused(`a key file (mode ${mode.toString(8)}) holding the value`, () => openVault({ dir: join(keyDir, 'vault'), keyFile }));
      }
      const elsewhere = tempDir();
      await createVault({ dir: elsewhere, passphrase: PASSPHRASE, passphraseParams: FAST_KDF });
      await refused("another vault's token", () => openVault({ dir: elsewhere, token }));
      await refused('a vault that exists already', () => createVault({ dir, passphrase: PASSPHRASE, passphraseParams: FAST_KDF }));

      // The agent asks for what it may not have, or does what only the owner may.
      await refused('not granted', () => agent.get('not-for-the-agent'));
      await refused('not granted, use()', () => agent.use('not-for-the-agent', () => undefined));
      await refused('no such secret', () => agent.get(`${NAME}-missing`));
      await refused('owner-only set, with the value', () => agent.set(NAME, VALUE));
      await refused('owner-only list', () => agent.list());
      await refused('owner-only createAgent', () => agent.createAgent('other', { allow: ['*'] }));
      await refused('owner-only verifyAudit', () => agent.verifyAudit());
      await refused('expired', async () => (await openVault({ dir, token, now: () => Date.now() + 2 * 3_600_000 })).get(NAME));

      // Owner mistakes that carry the value.
      await refused('set a value that is an object', () => owner.set(NAME, { toString: () => VALUE } as never));
      await refused('set a value that is an array', () => owner.set(NAME, [...Buffer.from(VALUE)] as never));
      await refused('a duplicate agent', () => owner.createAgent(AGENT_ID, { allow: [PATTERN] }));
      await refused('revoking an unknown agent', () => owner.revokeAgent('nobody'));
      await refused('deleting an unknown secret', () => owner.delete(`${NAME}-missing`));

      // Stored bytes tampered with: the owner and a fresh agent both refuse, and list() does.
      const backend = fileBackend({ dir });
      for (const prefix of ['s/', 'a/', 'header']) {
        for (const key of prefix === 'header' ? ['header'] : await backend.list(prefix)) {
          const original = (await backend.get(key))!;
          const flipped = original.slice();
          flipped[Math.floor(original.length * 0.75)]! ^= 0x04;
          await backend.set(key, flipped);
          await refused(`tampered ${prefix}: owner list`, async () => (await openVault({ dir, passphrase: PASSPHRASE })).list());
          // Each read either refuses or returns the true value; at least one refuses.
          const reads = await Promise.allSettled([
            openVault({ dir, passphrase: PASSPHRASE }).then((v) => v.get(NAME)),
            openVault({ dir, passphrase: PASSPHRASE }).then((v) => v.get('not-for-the-agent')),
            openVault({ dir, token }).then((v) => v.get(NAME)),
          ]);
          expect(reads.filter((r) => r.status === 'fulfilled').map((r) => r.value)).toEqual(
            Array(reads.filter((r) => r.status === 'fulfilled').length).fill(VALUE));
          const errors = reads.filter((r) => r.status === 'rejected').map((r) => r.reason as unknown);
          expect(errors.length, `tampered ${key}`).toBeGreaterThan(0);
          for (const error of errors) await refused(`tampered ${prefix}: read`, () => Promise.reject(error));
          await backend.set(key, original);
        }
      }
      expect(await agent.get(NAME)).toBe(VALUE);

      // An audit log that cannot be written: fail closed, and the callback never runs.
      const failing = await openVault({
        dir, token,
        audit: { append: (event, context) => Promise.reject(Object.assign(new Error(`EROFS: ${inspect({ event, context })}`), { code: 'EROFS' })) },
      });
      await refused('audit sink rejects: get', () => failing.get(NAME));
      let ran = false;
      await refused('audit sink rejects: use', () => failing.use(NAME, () => { ran = true; }));
      expect(ran).toBe(false);

      // Storage that fails, quoting what it was given (ciphertext only).
      const quoting = { ...memoryBackend(), name: 'quoting' };
      const storing = await createVault({ backend: quoting, passphrase: PASSPHRASE, passphraseParams: FAST_KDF });
      quoting.set = async (key: string, bytes: Uint8Array) => {
        throw new Error(`cannot store ${key}: ${inspect(bytes, { maxArrayLength: Infinity })} ${Buffer.from(bytes).toString('base64')}`);
      };
      await refused('a backend that fails and quotes its input', () => storing.set(NAME, VALUE), true);

      // Keys wiped by close(): later calls fail without the value.
      await agent.close();
      await refused('get after close (agent)', () => agent.get(NAME));
      await owner.close();
      await refused('get after close (owner)', () => owner.get(NAME));

      // Rotation and revocation: the old token's next call, then the new one's after revocation.
      const again = await openVault({ dir, passphrase: PASSPHRASE });
      const rotated = await again.rotateAgent(AGENT_ID);
      tokens.push(rotated.token);
      await refused('rotated-away token', async () => (await openVault({ dir, token })).get(NAME));
      await again.revokeAgent(AGENT_ID);
      await refused('revoked token', async () => (await openVault({ dir, token: rotated.token })).get(NAME));
      await refused('revoked token, use()', async () => (await openVault({ dir, token: rotated.token })).use(NAME, () => undefined));
    });

    expect(outcomes.length).toBeGreaterThan(40);
    expect(outcomes).toEqual(expect.arrayContaining([
      'wrong passphrase: ACCESS_DENIED', 'token altered: ACCESS_DENIED', 'not granted: ACCESS_DENIED', 'expired: TOKEN_EXPIRED',
      'tampered s/: read: INTEGRITY', 'audit sink rejects: use: AUDIT', 'revoked token: ACCESS_DENIED', 'rotated-away token: ACCESS_DENIED',
    ]));
    const credentials = new LeakScanner({
      value: VALUE, passphrase: PASSPHRASE, ...Object.fromEntries(tokens.map((t, i) => [`token ${i}`, t])),
    });
    expectClean(seen.findings(credentials));
    const audit = readFileSync(join(dir, 'audit.jsonl'), 'utf8');
    expect(audit).toMatch(/"outcome":"denied"/);
    expectClean([...credentials.scan('audit.jsonl', audit), ...credentials.scanDirectory(dir)]);
    expectClean(new LeakScanner({ name: NAME, pattern: PATTERN, agent: AGENT_ID }).scanDirectory(dir, (path) => path === 'audit.jsonl'));
  });
});

describe('SecretBuffer', () => {
  it('its bytes are zero once use() settles: resolved, thrown, rejected, or refused before the callback', async () => {
    const { owner, agent } = await canaryVault();
    const kept: [string, Uint8Array][] = [];
    const keep = (how: string) => (secret: SecretBuffer) => {
      expect(Buffer.from(secret.bytes).toString(), how).toBe(VALUE); // the bytes inside use() are the value
      kept.push([how, secret.bytes]);
      return secret;
    };
    const bodies: [string, (secret: SecretBuffer) => unknown][] = [
      ['returns', keep('returns')],
      ['throws', (s) => { keep('throws')(s); throw new Error('callback failed'); }],
      ['rejects later', async (s) => { keep('rejects later')(s); await new Promise((r) => setTimeout(r, 5)); throw new Error('late'); }],
      ['resolves later', async (s) => { keep('resolves later')(s); await new Promise((r) => setTimeout(r, 5)); return 1; }],
      ['returns a rejected promise', (s) => { keep('returns a rejected promise')(s); return Promise.reject(new Error('x')); }],
    ];
    for (const vault of [owner, agent]) {
      for (const [, body] of bodies) await vault.use(NAME, body).catch(() => undefined);
    }
    expect(kept).toHaveLength(bodies.length * 2);
    for (const [how, bytes] of kept) expect(isZero(bytes), how).toBe(true);

    // The SecretBuffer handed out is unusable afterwards, and says so without the value.
    const escaped = await agent.use(NAME, (secret) => secret);
    expect(escaped.wiped).toBe(true);
    expect(() => escaped.bytes).toThrow(UsageError);
    expect(() => escaped.text()).toThrow(UsageError);
    expectClean(value.scanValue('escaped SecretBuffer', escaped));
    expectClean(value.scanValue('its error', (() => { try { return escaped.text(); } catch (e) { return e; } })()));

    // Refused before the callback (the audit record cannot be written; not granted): it never runs.
    const { backend, token } = await canaryVault();
    const unaudited = await openVault({ backend, token, audit: { append: () => Promise.reject(new Error('EROFS')) } });
    let ran = 0;
    await expect(unaudited.use(NAME, () => { ran++; })).rejects.toMatchObject({ code: 'AUDIT' });
    await expect(agent.use('not-granted-name', () => { ran++; })).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
    expect(ran).toBe(0);
  });

  it('get() is the only call that returns the value as a string; inside use() only bytes and text() hold it', async () => {
    const { agent } = await canaryVault();
    await agent.use(NAME, (secret) => {
      for (const shown of [String(secret), `${secret}`, secret + '', JSON.stringify(secret), JSON.stringify({ secret }),
        inspect(secret, { showHidden: true, depth: Infinity }), inspect(secret, { customInspect: false, showHidden: true }),
        Object.keys(secret).join(), JSON.stringify(Object.entries(secret)), JSON.stringify(structuredClone({ ...secret }))]) {
        expectClean(value.scan('SecretBuffer shown', shown));
      }
      expect(secret.text()).toBe(VALUE);
      expect(value.scan('text()', secret.text())).not.toEqual([]); // positive control
    });
    expect(await agent.get(NAME)).toBe(VALUE);
  });
});

describe('adapters: every client, both transports, every way a request can fail', () => {
  for (const flavor of FLAVORS) {
    for (const transport of TRANSPORTS) {
      describe(`${flavor.name}, ${transport} transport`, () => {
        // A user's own fetch is what rules the hardened transport out: that scenario is the standard one's.
        for (const scenario of SCENARIOS.filter((s) => transport === 'standard' || !s.userFetchThrows)) {
          const known = knownLeak(flavor, scenario);
          it(known ? `${scenario.name} [KNOWN LEAK: ${known}]` : scenario.name, () => runScenario(flavor, transport, scenario));
        }
      });
    }
  }
});

const CHILD = join(import.meta.dirname, '_leak-child.ts');

/** Run the child to its end, keeping its output as bytes (searched in every encoding). */
function runChild(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: Buffer; stderr: Buffer }> {
  const child = spawn(process.execPath, [CHILD, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr) }));
  });
}

/** The environment of a fresh process: no vault settings of ours, every SDK and Node debug log on. */
function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(AGENT_VAULT_|OPENAI_|ANTHROPIC_|NODE_OPTIONS$)/.test(name)));
  return { ...env, ...DEBUG_ENV, NODE_DEBUG: 'http,net,tls,fetch,undici', ...extra };
}

describe('a child process with every debug log on', () => {
  it('its stdout and stderr hold the value only where get() printed it (and the .env baseline leaks it)', async () => {
    const dir = tempDir();
    const owner = await createVault({ dir, passphrase: PASSPHRASE, passphraseParams: FAST_KDF });
    await owner.set(NAME, VALUE);
    const { token } = await owner.createAgent(AGENT_ID, { allow: [PATTERN], ttl: '1h' });
    const elsewhere = await startServer(echoEverything, PROVIDER_SERVER);
    const api = await startServer((request, res) => {
      const [, behaviour, ...rest] = request.url.split('/');
      const url = `/${rest.join('/')}`;
      if (behaviour === 'ok') return providerHandler()({ ...request, url }, res);
      if (behaviour === 'reset') return void res.socket?.destroy();
      if (behaviour === 'redirect') {
        res.writeHead(307, { location: elsewhere.origin + url });
        return void res.end();
      }
      res.writeHead(500, { 'content-type': 'application/json', 'retry-after-ms': '1' });
      res.end(JSON.stringify({ type: 'error', error: { type: 'api_error', message: 'Overloaded, try again.' } }));
    }, PROVIDER_SERVER);
    try {
      const closed = await closedOrigin();
      const run = await runChild(['vault', dir, NAME, api.origin, closed], childEnv({ AGENT_VAULT_TOKEN: token }));
      const [stdout, stderr] = [run.stdout.toString(), run.stderr.toString()];
      // It ran everything, with debug logs on, and died of the uncaught connection error.
      expect(run.code, stderr.slice(-2_000)).toBe(1);
      expect(stderr).toMatch(/APIConnectionError|Connection error/);
      expect(stdout).toContain('token left in the environment: false');
      expect(stdout).toContain('environment {');
      expect(`${stdout}${stderr}`).toMatch(/sending request|\[log_/i);
      expect(stderr).toMatch(/^(HTTP|NET|FETCH|UNDICI)\b/m);
      expect(api.requests.filter((request) => credentialOf(request) === VALUE).length).toBeGreaterThan(16);
      expect(elsewhere.requests.length).toBeGreaterThan(0);

      // The one place the value may be: the line that printed get()'s result (a positive control).
      const scanner = new LeakScanner({ value: VALUE, token });
      const reveal = `REVEAL ${VALUE}\n`;
      expect(stdout.split(reveal)).toHaveLength(2);
      expect(scanner.scan('the get() line', reveal)).not.toEqual([]);
      expectClean([
        ...scanner.scan('stdout', Buffer.from(stdout.replace(reveal, ''))),
        ...scanner.scan('stderr', run.stderr),
        ...scanner.scan('what the other origin received', JSON.stringify(elsewhere.requests)),
      ]);

      // The same capture on a .env-style app (the key in OPENAI_API_KEY) finds it: the baseline.
      const baseline = await runChild(['baseline', api.origin], childEnv({ OPENAI_API_KEY: VALUE }));
      expect(baseline.code, baseline.stderr.toString()).toBe(0);
      expect(scanner.scan('baseline stdout', baseline.stdout)).not.toEqual([]);
    } finally {
      await Promise.all([api.close(), elsewhere.close()]);
    }
  });
});

describe.skipIf(!existsSync(CLI_ENTRY))('the CLI', () => {
  it('every command and failure: stdout and stderr hold the value only from get --reveal, a token only from agent create/rotate', async () => {
    const cwd = tempDir();
    const dir = join(cwd, '.agent-vault');
    const key = ['--key-file', 'owner.key'];
    const runs: (CliResult & { args: string[] })[] = [];
    const cli = async (args: string[], input?: string, env?: Record<string, string>) => {
      const result = await runCli(args, { cwd, ...(input === undefined ? {} : { input }), ...(env ? { env } : {}) });
      runs.push({ args, ...result });
      return result;
    };
    const both = async (args: string[], input?: string) => [await cli(args, input), await cli([...args, '--json'], input)];

    await cli(['init', ...key]);
    await both(['status']);
    await both(['set', NAME, ...key], `${VALUE}\n`);
    await cli(['set', `${NAME}-2`, ...key], VALUE);
    await both(['get', NAME, ...key]);
    const reveal = await cli(['get', NAME, '--reveal', ...key]);
    await both(['list', ...key]);
    const created = [
      await cli(['agent', 'create', AGENT_ID, '--allow', PATTERN, '--ttl', '1h', ...key]),
      await cli(['agent', 'create', `${AGENT_ID}-2`, '--allow', PATTERN, '--json', ...key]),
    ];
    await both(['agent', 'list', ...key]);
    const rotated = await both(['agent', 'rotate', AGENT_ID, ...key]);
    await both(['audit', ...key]);
    await both(['audit', 'verify', ...key]);
    await cli(['agent', 'revoke', AGENT_ID, ...key]);
    await cli(['rm', `${NAME}-2`, ...key]);
    const done = runs.length;

    // Mistakes that carry the value or a credential on the command line or in a file.
    await both(['set', NAME, VALUE, ...key]);
    await both(['set', `${NAME}=${VALUE}`, ...key]);
    await cli([VALUE]);
    await cli([`--${VALUE}`, 'list']);
    await cli(['get', NAME, '--reveal', '--json', ...key]);
    await cli(['get', `${NAME}-missing`, '--reveal', '--debug', ...key]);
    writeFileSync(join(cwd, 'wrong.key'), `${VALUE}\n`, { mode: 0o600 });
    await both(['list', '--key-file', 'wrong.key', '--debug']);
    await cli(['list', '--debug']);
    // A tampered record: every reading command fails, with stack traces asked for.
    const backend = fileBackend({ dir });
    const [record] = await backend.list('s/');
    const original = (await backend.get(record!))!;
    const flipped = original.slice();
    flipped[original.length - 20]! ^= 0x01;
    await backend.set(record!, flipped);
    await cli(['get', NAME, '--reveal', '--debug', ...key]);
    for (const args of [['get', NAME], ['list'], ['agent', 'create', 'other', '--allow', '*']]) await both([...args, '--debug', ...key]);
    await backend.set(record!, original);
    // A passphrase vault (Argon2id calibrated by init, so only a few runs): the passphrase never shows.
    const passphraseFile = join(cwd, 'passphrase');
    writeFileSync(passphraseFile, `${PASSPHRASE}\n`, { mode: 0o600 });
    const withPassphrase = { AGENT_VAULT_PASSPHRASE_FILE: passphraseFile };
    await cli(['init', '--dir', 'p-vault'], undefined, withPassphrase);
    await cli(['set', NAME, '--dir', 'p-vault'], VALUE, withPassphrase);
    writeFileSync(passphraseFile, `${PASSPHRASE}-typo\n`, { mode: 0o600 });
    await cli(['list', '--dir', 'p-vault', '--debug'], undefined, withPassphrase);

    // The session went as planned (positive controls: the two places a secret may be printed).
    for (const run of runs.slice(0, done)) expect(run.code, `${run.args.join(' ')}: ${run.stderr}`).toBe(0);
    expect(runs.slice(done).filter((run) => run.code === 0).map((run) => run.args.join(' '))).toEqual(['init --dir p-vault', `set ${NAME} --dir p-vault`]);
    expect(reveal.stdout).toBe(VALUE);
    expect(runs.filter((run) => run.stderr.includes('INTEGRITY')).map((run) => run.args[0])).toEqual(['get', 'get', 'get', 'list', 'list', 'agent', 'agent']);
    expect(runs.some((run) => run.args.includes('--debug') && /\n\s+at /.test(run.stderr))).toBe(true);
    const tokens = [...created, ...rotated].map((run) => (run.stdout.startsWith('{') ? JSON.parse(run.stdout).token : run.stdout.trim()) as string);
    for (const token of tokens) expect(token).toMatch(/^avt_[\w-]{40,}$/);
    const scanner = new LeakScanner({ value: VALUE, passphrase: PASSPHRASE, ...Object.fromEntries(tokens.map((t, i) => [`token ${i}`, t])) });
    expect(scanner.scan('get --reveal', reveal.stdout).map((f) => f.secret)).toContain('value');

    const findings = runs.flatMap(({ args, stdout, stderr }) => {
      const command = args.join(' ');
      const mayPrint = command.startsWith('get') && args.includes('--reveal') ? ['value']
        : /^agent (create|rotate)/.test(command) ? ['token'] : [];
      return [
        ...scanner.scan(`stdout of ${command}`, stdout).filter((f) => !mayPrint.includes(f.secret.split(' ')[0]!)),
        ...scanner.scan(`stderr of ${command}`, stderr),
      ];
    });
    expectClean(findings);
    expectClean([...scanner.scanDirectory(dir), ...scanner.scanDirectory(join(cwd, 'p-vault'))]);
    expectClean(new LeakScanner({ name: NAME, pattern: PATTERN, agent: AGENT_ID }).scanDirectory(dir, (path) => path === 'audit.jsonl'));
  }, 180_000); // some 60 CLI processes, one after another
});
