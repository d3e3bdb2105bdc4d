/**
 * The audit contract. The vault calls `append` once per event, before it releases anything;
 * when `append` rejects, the operation fails closed with AuditError.
 */

export type AuditAction =
  | 'secret.resolve'
  | 'secret.set'
  | 'secret.delete'
  | 'agent.create'
  | 'agent.rotate'
  | 'agent.revoke'
  | 'vault.create'
  | 'vault.open';

export type AuditOutcome = 'ok' | 'denied' | 'error';

export interface AuditEvent {
  /** `owner` or `agent:<id>`. */
  actor: string;
  action: AuditAction;
  /** The secret name, or the agent id for agent.* actions. Never a value, never a token. */
  name?: string;
  version?: number;
  outcome: AuditOutcome;
  /** Why it was denied or failed: an error code or AccessDeniedError reason. */
  reason?: string;
}

export interface AuditSink {
  /**
   * Durably append one event for vault `vaultId`. `macKey` is the writer's audit key (derived
   * from its own key, so only that writer and the owner can make its records).
   */
  append(event: AuditEvent, context: { vaultId: string; macKey: Uint8Array; now: number }): Promise<void>;
  close?(): Promise<void>;
}
