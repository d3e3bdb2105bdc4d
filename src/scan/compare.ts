/**
 * Is a found key already in the vault? Compared through keyed digests: a fresh random key for
 * this run, BLAKE2b-MAC of every stored value and of every found value, and the digests
 * matched. The digests mean nothing without the run's key, which is wiped at the end, so the
 * comparison reveals nothing beyond "equal or not", and a lookup's timing reveals nothing about a
 * value. Needs the owner (it reads every secret: one audited read each).
 */
import { bytesToHex } from '../_bytes.ts';
import { mac, randomBytes, utf8, wipe } from '../crypto.ts';
import type { Vault } from '../vault.ts';
import type { Finding } from './finding.ts';

/** Set `inVault` on each finding whose value the vault holds (the name of the secret). */
export async function markInVault(findings: readonly Finding[], vault: Vault): Promise<void> {
  if (findings.length === 0) return;
  const runKey = randomBytes(32);
  try {
    const byDigest = new Map<string, string>();
    for (const secret of await vault.list()) {
      const digest = await vault.use(secret.name, (value) => bytesToHex(mac(runKey, value.bytes)));
      if (!byDigest.has(digest)) byDigest.set(digest, secret.name);
    }
    for (const finding of findings) {
      const bytes = utf8.encode(finding.value());
      try {
        finding.inVault = byDigest.get(bytesToHex(mac(runKey, bytes)));
      } finally {
        wipe(bytes);
      }
    }
  } finally {
    wipe(runKey);
  }
}
