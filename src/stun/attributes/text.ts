// UTF-8 text attributes: USERNAME (RFC 8489 section 14.3), REALM (14.9), NONCE (14.10),
// SOFTWARE (14.14), and the reason phrases of ERROR-CODE.
import { isUtf8 } from 'node:buffer';
import { Attr } from '../constants.js';

/** Most bytes a decoder accepts: REALM, NONCE, SOFTWARE and reason phrases, RFC 8489 section 14. */
export const MAX_TEXT_BYTES = 763;
/** Fewer than 128 characters for REALM, NONCE, SOFTWARE and reason phrases, RFC 8489 section 14. */
export const MAX_TEXT_CHARS = 127;
/** USERNAME is fewer than 513 bytes (RFC 5389 section 15.3; RFC 8489 tightened it to 509 for senders). */
export const MAX_USERNAME_BYTES = 512;

function countCodePoints(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

function limitsFor(type: number | undefined): { bytes: number; chars: number } {
  if (type === Attr.USERNAME) return { bytes: MAX_USERNAME_BYTES, chars: Number.POSITIVE_INFINITY };
  return { bytes: MAX_TEXT_BYTES, chars: MAX_TEXT_CHARS };
}

/**
 * Decodes a UTF-8 text value; null when it is not valid UTF-8 or breaks the limits of `type`
 * (USERNAME: under 513 bytes; any other: at most 763 bytes and under 128 characters).
 */
export function readText(value: Buffer, type?: number): string | null {
  const limits = limitsFor(type);
  if (value.length > limits.bytes || !isUtf8(value)) return null;
  const text = value.toString('utf8');
  // Up to 127 bytes cannot hold more than 127 characters, so most values skip the count.
  if (value.length > MAX_TEXT_CHARS && countCodePoints(text) > limits.chars) return null;
  return text;
}

/** Encodes text as UTF-8. Throws RangeError when it breaks the limits of `type` (see readText). */
export function encodeText(text: string, type?: number): Buffer {
  const value = Buffer.from(text, 'utf8');
  const limits = limitsFor(type);
  // As in readText: up to 127 bytes hold at most 127 characters, so short values skip the count
  // (every 401's reason phrase and NONCE, issue 19).
  if (
    value.length > limits.bytes ||
    (value.length > MAX_TEXT_CHARS && countCodePoints(text) > limits.chars)
  ) {
    throw new RangeError(`text too long for attribute 0x${(type ?? 0).toString(16)}`);
  }
  return value;
}
