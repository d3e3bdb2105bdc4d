/**
 * One error tree. Callers match on `code` (stable, survives duplicate ESM/CJS copies of this
 * package); messages say what happened and what to do next, and never carry secret material.
 * Each code has exactly one class, so `instanceof` and `code` always agree.
 */

/** Every code, written once: the `VaultErrorCode` type and the runtime check both come from it. */
export const VAULT_ERROR_CODES = [
  'SECRET_NOT_FOUND',
  'ACCESS_DENIED',
  'TOKEN_EXPIRED',
  'INTEGRITY',
  'AUDIT',
  'BACKEND',
  'MISSING_PEER',
  'USAGE',
  'VAULT_EXISTS',
  'VAULT_NOT_FOUND',
] as const;

export type VaultErrorCode = (typeof VAULT_ERROR_CODES)[number];

export class VaultError extends Error {
  readonly code: VaultErrorCode;

  constructor(code: VaultErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** The name has no secret in this vault (or it was deleted). */
export class SecretNotFoundError extends VaultError {
  constructor(message: string) {
    super('SECRET_NOT_FOUND', message);
  }
}

/** The token is malformed, revoked, rotated away, or not granted this secret. */
export class AccessDeniedError extends VaultError {
  readonly reason: AccessDeniedReason;

  constructor(reason: AccessDeniedReason, message: string) {
    super('ACCESS_DENIED', message);
    this.reason = reason;
  }
}

export type AccessDeniedReason =
  | 'bad-token'
  /** A format-1 token: the vault was upgraded (or must be); the owner issues a new one. */
  | 'old-token'
  | 'wrong-vault'
  | 'unknown-agent'
  | 'revoked'
  | 'rotated'
  | 'not-granted'
  | 'owner-only'
  | 'wrong-unlock';

/** The agent token was valid but its TTL has passed. */
export class TokenExpiredError extends VaultError {
  constructor(message: string) {
    super('TOKEN_EXPIRED', message);
  }
}

/** Stored bytes failed authentication: tampered, truncated, swapped, or the wrong key. */
export class IntegrityError extends VaultError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INTEGRITY', message, options);
  }
}

/** An audit record could not be written or the audit log does not verify. */
export class AuditError extends VaultError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('AUDIT', message, options);
  }
}

/** The storage backend failed (I/O, permissions, a held lock). */
export class BackendError extends VaultError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('BACKEND', message, options);
  }
}

/**
 * An optional peer dependency (an SDK, a driver) is not installed. `packageName` is what to
 * install; the message gives the supported range and the `npm install` line.
 */
export class MissingPeerError extends VaultError {
  readonly packageName: string;

  constructor(packageName: string, feature: string, options?: { range?: string; cause?: unknown }) {
    const range = options?.range ? ` (${options.range})` : '';
    super(
      'MISSING_PEER',
      `${feature} needs the optional package ${packageName}${range}, which is not installed. Install it: npm install ${packageName}`,
      { cause: options?.cause },
    );
    this.packageName = packageName;
  }
}

/** The caller passed something invalid; the message says what is expected. */
export class UsageError extends VaultError {
  constructor(message: string) {
    super('USAGE', message);
  }
}

/** `createVault` found a vault already in this backend; nothing was overwritten. */
export class VaultExistsError extends VaultError {
  constructor(message: string) {
    super('VAULT_EXISTS', message);
  }
}

/** `openVault` (or a CLI command) found no vault header where it looked. */
export class VaultNotFoundError extends VaultError {
  constructor(message: string) {
    super('VAULT_NOT_FOUND', message);
  }
}

const CODES: ReadonlySet<string> = new Set(VAULT_ERROR_CODES);

/**
 * True for any VaultError, including one from another copy of this package (an ESM and a CJS
 * copy loaded side by side): matched by its name and code, not by `instanceof` alone.
 */
export function isVaultError(error: unknown): error is VaultError {
  if (error instanceof VaultError) return true;
  return error instanceof Error && /Error$/.test(error.name) && CODES.has((error as { code?: unknown }).code as string);
}
