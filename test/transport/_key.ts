/** Key sources for the transport tests: what `Vault._prepare()` returns, over a fixed value. */
export interface TestKeySource {
  readonly length: number;
  decryptInto(target: Uint8Array): void;
  /** How many times the key was decrypted. */
  readonly calls: number;
  /** Every buffer the key was written into (views of the transport's write buffers). */
  readonly targets: Uint8Array[];
}

export function keySource(value: string): TestKeySource {
  const bytes = Buffer.from(value, 'latin1');
  const targets: Uint8Array[] = [];
  return {
    length: bytes.length,
    decryptInto(target) {
      target.set(bytes);
      targets.push(target);
    },
    get calls() {
      return targets.length;
    },
    targets,
  };
}
