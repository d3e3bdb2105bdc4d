/**
 * `migrateVault`, the public face of the one-time format-1 upgrade (src/_migrate.ts), which it
 * loads on the call: importing `agent-vault` (every agent does) does not load the format-1
 * readers and the owner's store behind them.
 */
import type { MigrationResult } from './_migrate.ts';
import type { OpenVaultOptions } from './options.ts';

export type { MigrationResult } from './_migrate.ts';

/** Upgrade the vault to format 2 in place. Owner only: takes the same options as openVault. */
export async function migrateVault(options: OpenVaultOptions): Promise<MigrationResult> {
  return (await import('./_migrate.ts')).migrateVault(options);
}
