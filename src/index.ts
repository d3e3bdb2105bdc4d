export { createVault, openVault, Vault } from './vault.ts';
export { type RestoreOptions, restoreVault } from './backup.ts';
export { type MigrationResult, migrateVault } from './migrate.ts';
export type {
  AgentInfo, CreateAgentOptions, CreateVaultOptions, OpenVaultOptions, OwnerUnlock, SecretInfo, UpdateAgentOptions, VaultOptions,
} from './options.ts';
export { SecretBuffer } from './secret.ts';
export type { Backend } from './backend.ts';
export { memoryAuditSink, type MemoryAuditSink } from './audit/memory.ts';
export type {
  AuditAction, AuditContext, AuditEvent, AuditFilter, AuditKeyring, AuditOutcome, AuditProblem, AuditRecord, AuditReport,
  AuditSink, AuditVerifyContext, AuditVerifyOptions,
} from './audit/index.ts';
// Types only: the file sink imports node:fs, so it is loaded by the vault's default file storage
// (or a subpath of its own), never by importing the core.
export type { AuditDurability, FileAuditSink, FileAuditSinkOptions } from './audit/file.ts';
export type { PassphraseParams } from './crypto.ts';
export {
  AccessDeniedError, type AccessDeniedReason, AuditError, BackendError, IntegrityError, isVaultError,
  MissingPeerError, SecretNotFoundError, TokenExpiredError, UsageError, VAULT_ERROR_CODES, VaultError, type VaultErrorCode,
  VaultExistsError, VaultNotFoundError,
} from './errors.ts';
export { parseDuration } from './duration.ts';
