/**
 * What a client believes of a server: nothing it cannot check. Every entry must carry the
 * owner's signature over (vault, key, revision, digest of the bytes), and so must the state;
 * the owner's public key is pinned by the vault id (its hash) that the token or the root key
 * already gives. Beyond signatures, the client remembers the newest state and the newest
 * revision of each key it has seen, so a server that answers with another key's record
 * (swap), an older genuine record (replay), an older state (rollback) or no record where one
 * was (drop) is caught as an IntegrityError. Only hashes are kept, never a record's bytes.
 */
import { equalBytes } from '../_bytes.ts';
import { signatureValid } from '../crypto.ts';
import { IntegrityError } from '../errors.ts';
import { type Entry, entryFromJson, entryMessage, type State, stateFromJson, stateMessage } from './_wire.ts';

export class TrustedView {
  readonly #vaultId: Uint8Array;
  readonly #publicKey: Uint8Array;
  #newest: number;
  readonly #seen = new Map<string, number>();
  /** The last verified signature per key and for the state, with the message it signed: same bytes, same answer. */
  readonly #verified = new Map<string, { sig: Uint8Array; message: Uint8Array }>();

  /** `floor`: the newest revision seen before (the owner keeps it across runs). */
  constructor(vaultId: Uint8Array, publicKey: Uint8Array, floor = 0) {
    this.#vaultId = vaultId;
    this.#publicKey = publicKey;
    this.#newest = floor;
  }

  /** The newest revision this client has verified. */
  get newest(): number {
    return this.#newest;
  }

  state(json: unknown): State {
    const state = stateFromJson(json, 'The server state');
    this.#check('\0state', state.sig, stateMessage(this.#vaultId, state.rev), 'The vault state');
    if (state.rev < this.#newest) {
      throw new IntegrityError(
        `The vault server answered with revision ${state.rev}, older than revision ${this.#newest} already seen: ` +
          'it was rolled back (restored from an old copy) or is replaying old answers. Nothing was used; tell the server operator.',
      );
    }
    this.#newest = state.rev;
    return state;
  }

  /** The entry `json` claims to be for `key`, checked against `state`; undefined for a signed deletion. */
  entry(json: unknown, key: string, state: State): Uint8Array | undefined {
    const entry: Entry = entryFromJson(json, `The record ${key} from the server`);
    if (entry.key !== key) {
      throw new IntegrityError(`The vault server answered a read of ${key} with another record (${entry.key}): records were swapped.`);
    }
    this.#check(key, entry.sig, entryMessage(this.#vaultId, key, entry.rev, entry.value), `The record ${key}`);
    if (entry.rev > state.rev) throw new IntegrityError(`The record ${key} is newer than the state it came with: the server mixed two answers.`);
    const seen = this.#seen.get(key) ?? 0;
    if (entry.rev < seen) {
      throw new IntegrityError(
        `The vault server returned an older version of ${key} (revision ${entry.rev}) than one already seen (${seen}): an old record was replayed.`,
      );
    }
    this.#seen.set(key, entry.rev);
    return entry.value ?? undefined;
  }

  /** The server says `key` does not exist: fine unless this client has seen it exist and never saw it deleted. */
  absent(key: string): undefined {
    if (this.#seen.has(key)) {
      throw new IntegrityError(`The vault server no longer returns ${key}, which existed and was never deleted: a record was dropped.`);
    }
    return undefined;
  }

  /** Remember what this client wrote itself. */
  wrote(keys: readonly string[], state: State): void {
    for (const key of keys) this.#seen.set(key, state.rev);
    this.#newest = Math.max(this.#newest, state.rev);
  }

  #check(slot: string, sig: Uint8Array, message: Uint8Array, what: string): void {
    const last = this.#verified.get(slot);
    if (last && equalBytes(last.sig, sig) && equalBytes(last.message, message)) return;
    if (!signatureValid(sig, message, this.#publicKey)) {
      throw new IntegrityError(`${what} from the vault server is not signed by this vault's owner: it was forged or altered.`);
    }
    if (this.#verified.size > 4096) this.#verified.clear();
    this.#verified.set(slot, { sig, message });
  }
}
