/** Placeholder until the PostgreSQL store lands. */
import { MissingPeerError } from '../errors.ts';
import type { ServerStore } from './_store.ts';

export async function postgresStore(_options: { url: string }): Promise<ServerStore> {
  throw new MissingPeerError('pg', 'The PostgreSQL server store');
}
