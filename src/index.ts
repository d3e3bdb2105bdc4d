export { createVault, openVault, Vault } from './vault.ts';
export type {
  AgentInfo, CreateAgentOptions, CreateVaultOptions, OpenVaultOptions, OwnerUnlock, SecretInfo, VaultOptions,
} from './vault.ts';
export { SecretBuffer } from './secret.ts';
export type { Backend } from './backend.ts';
export { memoryBackend } from './backends/memory.ts';
export type { AuditAction, AuditEvent, AuditOutcome, AuditSink } from './audit.ts';
export type { PassphraseParams } from './crypto.ts';
export {
  AccessDeniedError, type AccessDeniedReason, AuditError, BackendError, IntegrityError, isVaultError,
  MissingPeerError, SecretNotFoundError, TokenExpiredError, UsageError, VaultError, type VaultErrorCode,
} from './errors.ts';
export { parseDuration } from './duration.ts';
