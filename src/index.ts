export { createVault, openVault, Vault } from './vault.js';
export type {
  AgentInfo, CreateAgentOptions, CreateVaultOptions, OpenVaultOptions, OwnerUnlock, SecretInfo, VaultOptions,
} from './vault.js';
export { SecretBuffer } from './secret.js';
export type { Backend } from './backend.js';
export { memoryBackend } from './backends/memory.js';
export type { AuditAction, AuditEvent, AuditOutcome, AuditSink } from './audit.js';
export type { PassphraseParams } from './crypto.js';
export {
  AccessDeniedError, type AccessDeniedReason, AuditError, BackendError, IntegrityError, isVaultError,
  MissingPeerError, SecretNotFoundError, TokenExpiredError, UsageError, VaultError, type VaultErrorCode,
} from './errors.js';
export { parseDuration } from './duration.js';
