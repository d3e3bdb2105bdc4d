/**
 * Import's backups are sealed to the owner. Each case performs the attack of a process running
 * as the owner (a compromised MCP server, a harvester): reading the imports directory for the
 * keys import moved, and editing, swapping or moving what is there so that undo restores, revokes
 * or deletes something it should not. Undo must refuse with a typed error and change nothing.
 */
import { chmodSync, copyFileSync, existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { bytesToHex } from '../../src/_bytes.ts';
import { memoryBackend } from '../../src/backends/memory.ts';
import { digest, initCrypto } from '../../src/crypto.ts';
import { openVault, type Vault } from '../../src/index.ts';
import { applyImport, type ExecLauncher, markInVault, planImport, scan, undoImport } from '../../src/scan/index.ts';
import { tempDir, testVault } from '../_fixtures/index.ts';
import { listFiles, makeMachine, randomText } from './_tree.ts';

const launcher: ExecLauncher = { command: '/usr/bin/node', args: ['/opt/agent-vault/cli.js', 'exec', '--dir', '/vault'] };
const newKey = () => `sk-proj-${randomText(48)}`;

beforeAll(() => initCrypto());

/**
 * Every way the value's bytes could sit in a file: raw, hex (either case), and base64 or
 * base64url at each of the three alignments a value can have inside a longer encoded blob
 * (the characters that depend only on the value's own bytes).
 */
function encodings(value: string): Buffer[] {
  const raw = Buffer.from(value);
  const forms = [raw, Buffer.from(raw.toString('hex')), Buffer.from(raw.toString('hex').toUpperCase())];
  for (let shift = 0; shift < 3; shift++) {
    const shifted = Buffer.concat([Buffer.alloc(shift), raw]);
    for (const encoding of ['base64', 'base64url'] as const) forms.push(Buffer.from(shifted.toString(encoding).slice(4, -4)));
  }
  return forms;
}

const everyByteUnder = (dir: string) => Buffer.concat(listFiles(dir).map((path) => readFileSync(join(dir, path))));
const manifestOf = (backupDir: string) => JSON.parse(readFileSync(join(backupDir, 'manifest.json'), 'utf8')).manifest;

/** A project with a .env (0600) and an MCP config (0644) moved into a fresh vault; the files as they were. */
async function imported(vault?: Vault) {
  const root = tempDir('agent-vault-sealed-');
  const files = {
    [join(root, '.env')]: { text: `OPENAI_API_KEY=${newKey()}\nNODE_ENV=production\n`, mode: 0o600 },
    [join(root, '.mcp.json')]: { text: `${JSON.stringify({ mcpServers: { ai: { command: 'node', args: ['s.js'], env: { ANTHROPIC_API_KEY: `sk-ant-api03-${randomText(90)}` } } } }, null, 2)}\n`, mode: 0o644 },
  };
  for (const [path, { text, mode }] of Object.entries(files)) {
    writeFileSync(path, text);
    chmodSync(path, mode);
  }
  const owner = vault ?? (await testVault());
  const { findings } = scan({ paths: [root], environment: false, home: false });
  await markInVault(findings, owner);
  const options = { launcher, importsDir: join(root, 'imports'), tokensDir: join(root, 'tokens') };
  const result = await applyImport(await planImport(findings, owner), owner, options);
  return { root, vault: owner, files, result, imports: options.importsDir, tokens: options.tokensDir };
}

/** Each file's bytes now, to show that a refused undo changed nothing. */
const snapshot = (paths: string[]) => new Map(paths.map((path) => [path, existsSync(path) ? readFileSync(path) : undefined]));

describe('what a process that reads the imports directory gets', () => {
  it('no planted key in any byte under it: raw, hex or base64', async () => {
    const machine = makeMachine();
    const vault = await testVault();
    const imports = join(machine.root, 'imports');
    const { findings } = scan({ paths: [machine.project], environment: false, homeDir: machine.home, env: {} });
    await markInVault(findings, vault);
    const result = await applyImport(await planImport(findings, vault), vault, { launcher, importsDir: imports, tokensDir: join(machine.root, 'tokens') });
    expect(result.rewritten).toHaveLength(10);
    const bytes = everyByteUnder(imports);
    // The check can fail: the same search over the original files finds every key.
    const originals = Buffer.concat([...machine.files.values()]);
    for (const planted of machine.planted) {
      expect(originals.includes(Buffer.from(planted.value)), planted.file).toBe(true);
      for (const form of encodings(planted.value)) expect(bytes.includes(form), `${planted.file} ${planted.variable}`).toBe(false);
    }
    // The manifest's digests are keyed: not the plain digest of the bytes, which would confirm a guess.
    const manifest = manifestOf(result.backupDir!);
    for (const file of manifest.files) {
      const original = machine.files.get(file.path.slice(machine.root.length + 1))!;
      expect(file.before).toMatch(/^[0-9a-f]{64}$/);
      expect(file.before).not.toBe(bytesToHex(digest(original)));
      expect(readFileSync(join(result.backupDir!, file.backup)).length).toBe(original.length + 40);
    }
  });
});

describe('undo with the owner', () => {
  it('restores every file byte for byte, modes included, and deletes its backups', async () => {
    const { files, result, imports, vault } = await imported();
    expect(result.rewritten.sort()).toEqual(Object.keys(files).sort());
    for (const path of result.rewritten) expect(readFileSync(path, 'utf8')).not.toBe(files[path]!.text);
    const undo = await undoImport(imports, vault);
    expect(undo.restored.sort()).toEqual([...result.rewritten].sort());
    for (const [path, { text, mode }] of Object.entries(files)) {
      expect(readFileSync(path, 'utf8'), path).toBe(text);
      expect(statSync(path).mode & 0o777, path).toBe(mode);
    }
    expect(listFiles(result.backupDir!)).toEqual(['manifest.json']);
  });
});

describe('undo refuses what an attacker changed, and restores nothing', () => {
  /** Run the attack on a fresh import; undo must reject with `code`, leaving every file and the manifest as they were. */
  async function refused(attack: (state: Awaited<ReturnType<typeof imported>>) => Promise<void> | void, code: string) {
    const state = await imported();
    await attack(state);
    const paths = [...Object.keys(state.files), ...listFiles(state.imports).map((path) => join(state.imports, path))];
    const before = snapshot(paths);
    const error = await undoImport(state.imports, state.vault).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code });
    expect(snapshot(paths)).toEqual(before);
    return { state, error: error as Error };
  }

  it('a backup edited (one bit flipped)', async () => {
    const { error } = await refused(({ result }) => {
      const path = join(result.backupDir!, '1-.env.bak');
      const bytes = readFileSync(path);
      bytes[bytes.length - 20]! ^= 1;
      writeFileSync(path, bytes);
    }, 'INTEGRITY');
    expect(error.message).toMatch(/1-\.env\.bak of .*\.env failed authentication.*Nothing was restored/);
  });

  it('a backup truncated', async () => {
    await refused(({ result }) => writeFileSync(join(result.backupDir!, '1-.env.bak'), readFileSync(join(result.backupDir!, '1-.env.bak')).subarray(0, 30)), 'INTEGRITY');
  });

  it('two backups swapped', async () => {
    await refused(({ result }) => {
      expect(result.rewritten).toHaveLength(2);
      const [a, b] = manifestOf(result.backupDir!).files.map((file: { backup: string }) => join(result.backupDir!, file.backup));
      renameSync(a, `${a}.x`);
      renameSync(b, a);
      renameSync(`${a}.x`, b);
    }, 'INTEGRITY');
  });

  it("a backup moved in from another import of the same file, holding the same bytes", async () => {
    // The first import, undone, then the same file imported again: the new import's backup replaced by the old one's.
    const { root, vault, imports, files, result } = await imported();
    const old = join(root, 'old-backup');
    copyFileSync(join(result.backupDir!, '1-.env.bak'), old);
    await undoImport(imports, vault);
    const findings = scan({ paths: [join(root, '.env')], environment: false, home: false }).findings;
    await markInVault(findings, vault);
    const again = await applyImport(await planImport(findings, vault), vault, { launcher, importsDir: imports, tokensDir: join(root, 'tokens') });
    expect(again.rewritten).toEqual([join(root, '.env')]);
    copyFileSync(old, join(again.backupDir!, '1-.env.bak'));
    const rewritten = readFileSync(join(root, '.env'));
    await expect(undoImport(imports, vault)).rejects.toMatchObject({ code: 'INTEGRITY' });
    expect(readFileSync(join(root, '.env')).equals(rewritten)).toBe(true);
    expect(rewritten.toString()).not.toBe(files[join(root, '.env')]!.text);
  });

  it('a backup made by another vault, for the same path', async () => {
    const other = await imported();
    await refused(({ result }) => {
      // Same layout, same relative name; the other vault sealed it (another key, another vault id).
      copyFileSync(join(other.result.backupDir!, '1-.env.bak'), join(result.backupDir!, '1-.env.bak'));
    }, 'INTEGRITY');
  });

  it('a backup deleted', async () => {
    await refused(({ result }) => rmSync(join(result.backupDir!, '1-.env.bak')), 'INTEGRITY');
  });

  it('the manifest edited: a restore redirected to another path, or a victim file named as a token file', async () => {
    await refused(({ result, root }) => {
      const path = join(result.backupDir!, 'manifest.json');
      writeFileSync(path, readFileSync(path, 'utf8').replace(join(root, '.env'), join(root, '.bashrc')));
    }, 'INTEGRITY');
    const victim = join(tempDir('agent-vault-victim-'), 'precious.txt');
    writeFileSync(victim, 'mine\n');
    await refused(({ result, tokens }) => {
      const path = join(result.backupDir!, 'manifest.json');
      const text = readFileSync(path, 'utf8');
      expect(text).toContain(tokens);
      writeFileSync(path, text.replaceAll(join(tokens, 'mcp-claude-ai.token'), victim));
    }, 'INTEGRITY');
    expect(readFileSync(victim, 'utf8')).toBe('mine\n');
  });

  it('the manifest marked undone, or replaced by one not written by the owner', async () => {
    await refused(({ result }) => {
      const path = join(result.backupDir!, 'manifest.json');
      writeFileSync(path, readFileSync(path, 'utf8').replace('"files"', '"undoneAt": "2026-01-01T00:00:00.000Z",\n  "files"'));
    }, 'INTEGRITY');
    await refused(({ result }) => {
      const manifest = manifestOf(result.backupDir!);
      writeFileSync(join(result.backupDir!, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`); // the old, unauthenticated format
    }, 'INTEGRITY');
  });
});

describe('undo needs the owner', () => {
  it('an agent vault is refused before anything is read or changed', async () => {
    const backend = memoryBackend();
    const vault = await testVault({ backend });
    const { token } = await vault.createAgent('bot', { allow: ['*'] });
    const state = await imported(vault);
    const agent = await openVault({ backend, token });
    const paths = [...Object.keys(state.files), ...listFiles(state.imports).map((path) => join(state.imports, path))];
    const before = snapshot(paths);
    await expect(undoImport(state.imports, agent)).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
    expect(snapshot(paths)).toEqual(before);
    expect((await undoImport(state.imports, vault)).restored).toHaveLength(state.result.rewritten.length);
  });

  it('another vault is told which vault made the import, and nothing changes', async () => {
    const state = await imported();
    const other = await testVault();
    const before = snapshot(Object.keys(state.files));
    await expect(undoImport(state.imports, other)).rejects.toMatchObject({ code: 'USAGE', message: expect.stringContaining(state.vault.id) });
    expect(snapshot(Object.keys(state.files))).toEqual(before);
  });
});
