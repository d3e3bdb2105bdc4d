// sealRecord spells its JSON out by hand (for speed): its bytes must be exactly the ones the format
// defines (FORMAT.md: JSON.stringify of the fields in order, MAC over the bytes up to `,"mac":`),
// for every field value, including ones that need escaping, non-ASCII text and any time a Date holds.
import { describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../src/audit/index.ts';
import { genesisHash, lineHash, parseLine, sealRecord } from '../../src/audit/_chain.ts';
import { bytesToHex } from '../../src/_bytes.ts';
import { derive, digest, initCrypto, mac, randomBytes } from '../../src/crypto.ts';

await initCrypto();
const key = derive(randomBytes(32), 'agent-vault/audit/v1');
const vaultId = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const encoder = new TextEncoder();

/** The format as FORMAT.md states it, built the slow, obvious way. */
function reference(event: AuditEvent, seq: number, now: number, prev: string): { line: string; hash: string } {
  const body = JSON.stringify({
    seq, time: new Date(now).toISOString(), vault: vaultId, actor: event.actor, generation: event.generation,
    action: event.action, name: event.name, version: event.version, outcome: event.outcome, reason: event.reason,
    note: event.note, prev,
  });
  const head = body.slice(0, -1);
  const line = `${head},"mac":"${bytesToHex(mac(key, encoder.encode(head), 32))}"}`;
  return { line, hash: bytesToHex(digest(encoder.encode(line), 32)) };
}

const texts = [
  'openai-api-key', '', 'quote " and backslash \\', 'newline\nand tab\t', 'control \u0000\u001f\u007f',
  'café ünïcödé', '日本語のキー', 'emoji 🔑', 'lone surrogate \ud800 here', '\udfff', 'line sep \u2028 \u2029',
  `~${'A'.repeat(2000)}`,
];

describe('sealRecord', () => {
  it('writes the exact bytes of the format for every kind of field value', () => {
    const prev = genesisHash(vaultId);
    let seq = 1;
    for (const text of texts) {
      for (const event of [
        { actor: 'owner', generation: 0, action: 'secret.set', name: text, version: 3, outcome: 'ok' },
        { actor: `agent:${'bot'}`, generation: 7, action: 'secret.resolve', name: text, outcome: 'denied', reason: text },
        { actor: 'agent:b', generation: 1, action: 'broker.request', outcome: 'error', note: text },
        { actor: 'owner', generation: 0, action: 'vault.open', outcome: 'ok' },
      ] as AuditEvent[]) {
        const now = Date.UTC(2026, 2, 1, 12, 0, 0, seq);
        const sealed = sealRecord(event, seq, now, vaultId, prev, key);
        const expected = reference(event, seq, now, prev);
        expect(new TextDecoder().decode(sealed.bytes)).toBe(expected.line);
        expect(sealed.hash).toBe(expected.hash);
        expect(sealed.hash).toBe(lineHash(sealed.bytes));
        // `line` is the same bytes and a newline, nothing after it.
        expect(sealed.line.length).toBe(sealed.bytes.length + 1);
        expect(sealed.line[sealed.bytes.length]).toBe(0x0a);
        expect(parseLine(sealed.bytes)).toMatchObject({ ok: true });
        seq++;
      }
    }
  });

  it('writes the time as Date#toISOString does, for any time a Date holds, and refuses the rest', () => {
    const event: AuditEvent = { actor: 'owner', generation: 0, action: 'vault.open', outcome: 'ok' };
    const times = [
      0, -1, -1.5, 1.7, 59_999, 60_000, 60_000.999, -60_001, 8.64e15, -8.64e15, 253_402_300_799_999, 253_402_300_800_000,
      -62_198_755_200_000, Date.UTC(2026, 11, 31, 23, 59, 59, 999), Date.UTC(2027, 0, 1),
    ];
    // Many in one minute (the cached prefix), then across minutes, hours and years, in both orders.
    for (let i = 0; i < 2_000; i++) times.push(Date.UTC(2026, 2, 1, 12, 0, 0) + i * 37);
    for (let i = 0; i < 2_000; i++) times.push(Math.floor((Math.random() - 0.4) * 2e13));
    for (const now of times) {
      const sealed = new TextDecoder().decode(sealRecord(event, 1, now, vaultId, genesisHash(vaultId), key).bytes);
      expect(JSON.parse(sealed).time).toBe(new Date(now).toISOString());
    }
    for (const now of [Number.NaN, Infinity, 8.64e15 + 1, -8.64e15 - 1]) {
      expect(() => sealRecord(event, 1, now, vaultId, genesisHash(vaultId), key)).toThrow(RangeError);
    }
  });

  it('fills a buffer it is given to its last byte (the file sink passes pooled, unzeroed memory)', () => {
    const event: AuditEvent = { actor: 'owner', generation: 0, action: 'secret.set', name: 'clé', outcome: 'ok' };
    const dirty = (length: number) => new Uint8Array(length).fill(0xee);
    for (const name of ['ascii-name', 'clé 🔑']) {
      const sealed = sealRecord({ ...event, name }, 2, 0, vaultId, genesisHash(vaultId), key, dirty);
      expect(sealed.line.includes(0xee)).toBe(false);
      expect(new TextDecoder().decode(sealed.line)).toBe(`${reference({ ...event, name }, 2, 0, genesisHash(vaultId)).line}\n`);
    }
  });
});
