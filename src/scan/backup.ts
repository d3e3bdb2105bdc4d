/**
 * Backups, atomic rewrites and undo. Each import gets a directory (0700) in the owner's config
 * directory with a copy of every file before it is rewritten (0600) and a manifest naming the
 * file, its mode and the digests of its bytes before and after. `undo` restores a file only
 * when it still holds exactly what import wrote, so a later edit is never overwritten.
 *
 * The backups hold the old plaintext values (that is what makes undo byte-for-byte): the
 * import's output says where they are, `undo` deletes each backup it restores, and `forget`
 * deletes them all.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { bytesToHex } from '../_bytes.ts';
import { syncDirectory } from '../_fs.ts';
import { digest } from '../crypto.ts';
import { BackendError, UsageError } from '../errors.ts';
import type { McpAgent } from './agents.ts';

export interface ManifestFile {
  path: string;
  /** The backup's file name inside the import's directory. */
  backup: string;
  mode: number;
  before: string;
  after: string;
}

export interface Manifest {
  id: string;
  createdAt: string;
  files: ManifestFile[];
  /** The agents made for rewritten MCP servers, recorded before each is created; undo revokes them. */
  agents?: McpAgent[];
  undoneAt?: string;
}

const MANIFEST = 'manifest.json';

export function fingerprint(bytes: Uint8Array): string {
  return bytesToHex(digest(bytes));
}

/**
 * Write `bytes` to `path` so that it holds the old or the new bytes, never a mix: a temp file in
 * the same directory with `mode`, fsync, rename over, fsync the directory.
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array, mode: number): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.agent-vault-${randomBytes(6).toString('hex')}.tmp`);
  try {
    const handle = await open(temp, 'wx', mode);
    try {
      await handle.writeFile(bytes);
      await handle.chmod(mode); // open's mode is masked by the umask; the original's is not
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
    await syncDirectory(dirname(path));
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw new BackendError(`Could not write ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'}); it was left as it was. Check the permissions and the disk.`, { cause: error });
  }
}

/** One import's backups, written as it goes. */
export class ImportBackup {
  readonly dir: string;
  readonly manifest: Manifest;

  private constructor(dir: string, manifest: Manifest) {
    this.dir = dir;
    this.manifest = manifest;
  }

  static async create(importsDir: string): Promise<ImportBackup> {
    const id = `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomBytes(3).toString('hex')}`;
    const dir = join(importsDir, id);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
    const backup = new ImportBackup(dir, { id, createdAt: new Date().toISOString(), files: [] });
    await backup.save();
    return backup;
  }

  /** Copy the file's current bytes before it is rewritten; the manifest records it first. */
  async rewrite(path: string, before: Uint8Array, after: Uint8Array): Promise<void> {
    const mode = statSync(path).mode & 0o7777;
    // `.bak`: not a name scan reads, so a later scan or import never treats a backup as a source.
    const name = `${this.manifest.files.length + 1}-${basename(path)}.bak`;
    await writeFileAtomic(join(this.dir, name), before, 0o600);
    this.manifest.files.push({ path, backup: name, mode, before: fingerprint(before), after: fingerprint(after) });
    await this.save();
    await writeFileAtomic(path, after, mode);
  }

  /** Note an agent before it is created, so that undo revokes it even if the import stops here. */
  recordAgent(agent: McpAgent): Promise<void> {
    (this.manifest.agents ??= []).push(agent);
    return this.save();
  }

  /** An agent withdrawn again (its file was not rewritten after all). */
  forgetAgent(id: string): Promise<void> {
    this.manifest.agents = (this.manifest.agents ?? []).filter((agent) => agent.id !== id);
    return this.save();
  }

  save(): Promise<void> {
    return writeManifest(this.dir, this.manifest);
  }
}

function writeManifest(dir: string, manifest: Manifest): Promise<void> {
  return writeFileAtomic(join(dir, MANIFEST), new TextEncoder().encode(`${JSON.stringify(manifest, null, 2)}\n`), 0o600);
}

export interface UndoResult {
  id: string;
  restored: string[];
  skipped: { path: string; reason: string }[];
  /** The import's MCP agents revoked (their token files deleted). */
  revoked: string[];
  /** Agents kept, because the file whose entry uses them was not restored. */
  kept: string[];
}

/** The owner's side of undo: revoke an agent and delete its token file (see agents.ts). */
export type WithdrawAgent = (agent: McpAgent) => Promise<void>;

/** Whether undo needs the owner vault (to revoke the agents the import made). */
export function undoNeedsVault(importsDir: string): boolean {
  return (latestImport(importsDir).manifest.agents ?? []).length > 0;
}

/** The most recent import not yet undone. */
function latestImport(importsDir: string): { dir: string; manifest: Manifest } {
  const ids = existsSync(importsDir) ? readdirSync(importsDir).sort().reverse() : [];
  for (const id of ids) {
    const path = join(importsDir, id, MANIFEST);
    if (!existsSync(path)) continue;
    let manifest: Manifest;
    try {
      manifest = JSON.parse(readFileSync(path, 'utf8')) as Manifest;
    } catch {
      throw new UsageError(`The import manifest ${path} is malformed; nothing was restored. Its backups are beside it.`);
    }
    if (!manifest.undoneAt) return { dir: join(importsDir, id), manifest };
  }
  throw new UsageError(`No import to undo in ${importsDir}.`);
}

/**
 * Restore every file of the latest import that still holds what the import wrote, then revoke
 * the agents it made for MCP servers, except those of a file not restored (its entry still
 * runs under exec with that agent's token). Files first: a server is never left pointing at a
 * revoked token by an undo that stopped half-way.
 */
export async function undoImport(importsDir: string, withdraw?: WithdrawAgent): Promise<UndoResult> {
  const { dir, manifest } = latestImport(importsDir);
  const agents = manifest.agents ?? [];
  if (agents.length > 0 && !withdraw) throw new UsageError('This import made agents for MCP servers; undo needs the owner to revoke them.');
  const result: UndoResult = { id: manifest.id, restored: [], skipped: [], revoked: [], kept: [] };
  for (const file of manifest.files) {
    const backupPath = join(dir, file.backup);
    const current = existsSync(file.path) ? readFileSync(file.path) : undefined;
    const now = current && fingerprint(current);
    if (now === file.before) {
      result.restored.push(file.path); // restored already (an undo interrupted after this file)
      continue;
    }
    if (current && now !== file.after) {
      result.skipped.push({ path: file.path, reason: `changed since the import; its old bytes are in ${backupPath}` });
      continue;
    }
    const backup = readFileSync(backupPath);
    if (fingerprint(backup) !== file.before) {
      result.skipped.push({ path: file.path, reason: `its backup ${backupPath} does not match the manifest; nothing restored` });
      continue;
    }
    await writeFileAtomic(file.path, backup, file.mode);
    result.restored.push(file.path);
  }
  const notRestored = new Set(result.skipped.map((skipped) => skipped.path));
  for (const agent of agents) {
    if (notRestored.has(agent.path)) {
      result.kept.push(agent.id);
      continue;
    }
    await withdraw!(agent);
    result.revoked.push(agent.id);
  }
  manifest.undoneAt = new Date().toISOString();
  await writeManifest(dir, manifest);
  // The restored files hold the values again; their plaintext copies here are no longer needed.
  for (const file of manifest.files) {
    if (result.restored.includes(file.path)) rmSync(join(dir, file.backup), { force: true });
  }
  return result;
}

/** Delete every import's backups and manifest: the plaintext copies go, and with them `undo`. */
export function forgetImports(importsDir: string): string[] {
  const ids = existsSync(importsDir) ? readdirSync(importsDir) : [];
  for (const id of ids) rmSync(join(importsDir, id), { recursive: true, force: true });
  return ids;
}
