/**
 * Backups, atomic rewrites and undo. Each import gets a directory (0700) in the owner's config
 * directory with a copy of every file before it is rewritten (0600) and a manifest naming the
 * file, its mode and the digests of its bytes before and after. `undo` restores a file only
 * when it still holds exactly what import wrote, so a later edit is never overwritten.
 *
 * A backup holds the old values (that is what makes undo byte-for-byte), so it is sealed to the
 * owner (_sealer.ts): import and undo both run with the owner's vault, and a backup or manifest
 * that fails to authenticate stops undo before it writes anything.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { syncDirectory } from '../_fs.ts';
import { wipe } from '../crypto.ts';
import { BackendError, IntegrityError, UsageError } from '../errors.ts';
import type { Vault } from '../vault.ts';
import { type McpAgent, withdrawMcpAgent } from './agents.ts';
import { BackupSealer } from './_sealer.ts';

export interface ManifestFile {
  path: string;
  /** The backup's file name inside the import's directory. */
  backup: string;
  mode: number;
  /** Keyed digests (BackupSealer.fingerprint) of the file before and after the rewrite. */
  before: string;
  after: string;
}

export interface Manifest {
  id: string;
  /** The vault (hex id) whose owner sealed the backups. */
  vault: string;
  createdAt: string;
  files: ManifestFile[];
  /** The agents made for rewritten MCP servers, recorded before each is created; undo revokes them. */
  agents?: McpAgent[];
  undoneAt?: string;
}

const MANIFEST = 'manifest.json';

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
  readonly #sealer: BackupSealer;

  private constructor(dir: string, manifest: Manifest, sealer: BackupSealer) {
    this.dir = dir;
    this.manifest = manifest;
    this.#sealer = sealer;
  }

  /** `sealer` stays the caller's: it wipes it when the import is done. */
  static async create(importsDir: string, sealer: BackupSealer): Promise<ImportBackup> {
    const id = `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomBytes(3).toString('hex')}`;
    const dir = join(importsDir, id);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
    const backup = new ImportBackup(dir, { id, vault: sealer.vaultId, createdAt: new Date().toISOString(), files: [] }, sealer);
    await backup.save();
    return backup;
  }

  /** Seal the file's current bytes before it is rewritten; the manifest records it first. */
  async rewrite(path: string, before: Uint8Array, after: Uint8Array): Promise<void> {
    const mode = statSync(path).mode & 0o7777;
    const { id } = this.manifest;
    // `.bak`: not a name scan reads, so a later scan or import never treats a backup as a source.
    const name = `${this.manifest.files.length + 1}-${basename(path)}.bak`;
    await writeFileAtomic(join(this.dir, name), this.#sealer.seal(id, path, before), 0o600);
    const fingerprint = (bytes: Uint8Array) => this.#sealer.fingerprint(id, path, bytes);
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
    return writeManifest(this.dir, this.manifest, this.#sealer);
  }
}

function writeManifest(dir: string, manifest: Manifest, sealer: BackupSealer): Promise<void> {
  return writeFileAtomic(join(dir, MANIFEST), sealer.encodeManifest(manifest), 0o600);
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

/** The most recent import not yet undone, its manifest authenticated. */
function latestImport(importsDir: string, sealer: BackupSealer): { dir: string; manifest: Manifest } {
  const ids = existsSync(importsDir) ? readdirSync(importsDir).sort().reverse() : [];
  for (const id of ids) {
    const path = join(importsDir, id, MANIFEST);
    if (!existsSync(path)) continue;
    const manifest = sealer.decodeManifest(readFileSync(path), path);
    if (!manifest.undoneAt) return { dir: join(importsDir, id), manifest };
  }
  throw new UsageError(`No import to undo in ${importsDir}.`);
}

/**
 * Restore every file of the latest import that still holds what the import wrote, then revoke
 * the agents it made for MCP servers, except those of a file not restored (its entry still
 * runs under exec with that agent's token). Every backup is opened before any file is written,
 * so one that fails to authenticate restores nothing; files before agents, so a server is never
 * left pointing at a revoked token by an undo that stopped half-way. Owner only.
 */
export async function undoImport(importsDir: string, vault: Vault): Promise<UndoResult> {
  const sealer = new BackupSealer(vault); // refuses an agent vault before anything is read
  const restoring: { file: ManifestFile; bytes: Uint8Array }[] = [];
  try {
    const { dir, manifest } = latestImport(importsDir, sealer);
    const result: UndoResult = { id: manifest.id, restored: [], skipped: [], revoked: [], kept: [] };
    for (const file of manifest.files) {
      const current = existsSync(file.path) ? readFileSync(file.path) : undefined;
      const now = current && sealer.fingerprint(manifest.id, file.path, current);
      if (now === file.before) {
        result.restored.push(file.path); // restored already (an undo interrupted after this file)
      } else if (current && now !== file.after) {
        result.skipped.push({ path: file.path, reason: 'changed since the import, so kept as it is (its sealed backup stays until --forget)' });
      } else {
        const backupPath = join(dir, file.backup);
        restoring.push({ file, bytes: sealer.open(manifest.id, file.path, readBackup(backupPath, file.path), backupPath) });
      }
    }
    for (const { file, bytes } of restoring) {
      await writeFileAtomic(file.path, bytes, file.mode);
      result.restored.push(file.path);
    }
    const notRestored = new Set(result.skipped.map((skipped) => skipped.path));
    for (const agent of manifest.agents ?? []) {
      if (notRestored.has(agent.path)) {
        result.kept.push(agent.id);
        continue;
      }
      await withdrawMcpAgent(vault, agent);
      result.revoked.push(agent.id);
    }
    manifest.undoneAt = new Date().toISOString();
    await writeManifest(dir, manifest, sealer);
    // The restored files hold the values again; their backups here are no longer needed.
    for (const file of manifest.files) {
      if (result.restored.includes(file.path)) rmSync(join(dir, file.backup), { force: true });
    }
    return result;
  } finally {
    for (const { bytes } of restoring) wipe(bytes);
    sealer.wipe();
  }
}

function readBackup(backupPath: string, path: string): Uint8Array {
  try {
    return readFileSync(backupPath);
  } catch (error) {
    throw new IntegrityError(
      `The backup ${backupPath} of ${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}); nothing was restored.`,
      { cause: error },
    );
  }
}

/** Delete every import's backups and manifest: needs no unlock, and with them goes `undo`. */
export function forgetImports(importsDir: string): string[] {
  const ids = existsSync(importsDir) ? readdirSync(importsDir) : [];
  for (const id of ids) rmSync(join(importsDir, id), { recursive: true, force: true });
  return ids;
}
