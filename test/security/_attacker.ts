/**
 * An agent turned attacker: it holds its own token and can write every file of the vault, as the
 * same OS user as the owner can. It uses exactly that: the keys in its token (its agent key,
 * its record's location, the owner's public key) and the library's own encoders, so each forgery
 * is as good as an agent can make it (valid layout, valid seals under keys it holds). What it
 * lacks is the owner's signing key: it signs with a key of its own.
 */
import type { Backend } from '../../src/index.ts';
import { bytesToHex } from '../../src/_bytes.ts';
import { ad, type AgentPolicy, decodeAgent, decodeSecret, encodeAgent, openPolicy } from '../../src/_records.ts';
import { ownerSigner } from '../../src/_signed.ts';
import { open, randomBytes, seal } from '../../src/crypto.ts';
import { parseToken } from '../../src/token.ts';

export function attacker(token: string, backend: Backend) {
  const me = parseToken(token);
  const ownKey = `a/${bytesToHex(me.loc)}`;
  const place = (key: string) => ({ vaultId: me.vaultId, key, publicKey: me.ownerKey });
  const forger = ownerSigner(randomBytes(32));
  return {
    me,
    ownKey,
    /** Its own record as stored, decoded (it is genuinely signed, so it decodes). */
    async ownPolicy(): Promise<AgentPolicy> {
      const record = decodeAgent((await backend.get(ownKey))!, place(ownKey));
      return openPolicy(me.vaultId, me.agentId, record, me.agentKey, 'own record');
    },
    /** Re-seal its own policy with `change` applied, at its generation, and write it in place. */
    async rewriteOwnPolicy(change: Partial<AgentPolicy>): Promise<void> {
      const record = decodeAgent((await backend.get(ownKey))!, place(ownKey));
      const policy = { ...openPolicy(me.vaultId, me.agentId, record, me.agentKey, 'own record'), ...change };
      await backend.set(ownKey, encodeAgent({
        vaultId: me.vaultId, loc: ownKey.slice(2), seq: record.seq + 1_000, agentId: me.agentId, generation: record.generation,
        status: record.status, sealedId: record.sealedId, agentKey: me.agentKey, policy,
      }, forger));
    },
    /**
     * Unwrap the data key of a secret it was granted and seal `value` under it in place of the
     * stored value, keeping every other byte (and so the owner's own wrap of that data key), with
     * the record's genuine signature kept or one of its own.
     */
    async resealValue(nameId: string, value: Uint8Array, signature: 'kept' | 'own'): Promise<void> {
      const key = `s/${nameId}`;
      const bytes = (await backend.get(key))!;
      const record = decodeSecret(bytes, place(key));
      const grant = record.grants.find((g) => bytesToHex(g.agentLoc) === bytesToHex(me.loc))!;
      const dek = open(me.agentKey, grant.wrappedKey, ad.grant(me.vaultId, nameId, record.version, me.agentId, me.generation), 'grant');
      const prefix = record.prefix.slice();
      new DataView(prefix.buffer).setUint32(prefix.length - 4, value.length + 40);
      const body = new Uint8Array([...prefix, ...seal(dek, value, ad.value(me.vaultId, nameId, prefix))]);
      const tail = signature === 'kept' ? bytes.subarray(bytes.length - 64) : forger.sign(body);
      await backend.set(key, new Uint8Array([...body, ...tail]));
    },
  };
}
