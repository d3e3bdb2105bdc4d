/**
 * The key as it goes into a header, checked as bytes by both transports, so that it never has
 * to become a string to be checked: surrounding whitespace (a stored trailing newline) is
 * dropped, and anything else outside visible ASCII is refused here, because a runtime's
 * "invalid header value" error would quote the key.
 */
import { UsageError } from '../../src/errors.ts';

/** The key's bytes in `bytes`, trimmed of surrounding whitespace as a header value is. */
export function trimSpace(bytes: Uint8Array): Uint8Array {
  let start = 0;
  let end = bytes.length;
  while (start < end && isSpace(bytes[start]!)) start++;
  while (end > start && isSpace(bytes[end - 1]!)) end--;
  return bytes.subarray(start, end);
}

/** Throw unless `trimmed` (from `trimSpace`) can be sent as a header value. `secret` names it in the message. */
export function checkHeaderValue(trimmed: Uint8Array, secret: string): void {
  if (trimmed.length === 0) throw new UsageError(`The secret "${secret}" is empty; store the API key in it.`);
  for (const byte of trimmed) {
    if (byte < 0x21 || byte > 0x7e) {
      throw new UsageError(
        `The secret "${secret}" is not a valid HTTP header value (it holds spaces, control or non-ASCII ` +
          'characters). Store the bare API key.',
      );
    }
  }
}

function isSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d;
}
