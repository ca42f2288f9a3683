// MESSAGE-INTEGRITY (RFC 8489 section 14.5) and MESSAGE-INTEGRITY-SHA256 (section 14.6).
import { createHash, timingSafeEqual } from 'node:crypto';
import { Attr, HEADER_LENGTH } from './constants.js';
import { hmacInto } from './hmac.js';
import type { StunMessage } from './message.js';

/** Length of MESSAGE-INTEGRITY's HMAC-SHA1 value. */
export const INTEGRITY_LENGTH = 20;

/**
 * Long-term credential key MD5(username ":" realm ":" password), RFC 8489 section 9.2.2.
 * OpaqueString (SASLprep) is not applied: TURN REST usernames and base64 passwords are ASCII,
 * where it changes nothing; callers with other text must prepare it first.
 */
export function longTermKey(username: string, realm: string, password: string): Buffer {
  return createHash('md5').update(`${username}:${realm}:${password}`, 'utf8').digest();
}

/** Short-term credential key: the password itself, RFC 8489 section 9.1.1 (OpaqueString not applied). */
export function shortTermKey(password: string): Buffer {
  return Buffer.from(password, 'utf8');
}

// Scratch copy of the header with its length patched, and the MAC a check computes; hashing is
// synchronous, so one of each is enough.
const patchedHeader = Buffer.alloc(HEADER_LENGTH);
const expectedMac = Buffer.alloc(32);

/**
 * HMAC over `raw[0..attrOffset)` with the header length field set as if the message ended right after
 * an integrity attribute of `valueLength` bytes at `attrOffset` (RFC 8489 section 14.5): the received
 * bytes are hashed as they are, padding included, never re-encoded. Its first `outLength` bytes go
 * to `out[outOffset]` (`out` may be `raw`, at or after `attrOffset`).
 */
export function integrityHmacInto(
  algorithm: 'sha1' | 'sha256',
  key: Buffer,
  raw: Buffer,
  attrOffset: number,
  valueLength: number,
  out: Buffer,
  outOffset: number,
  outLength: number,
): void {
  raw.copy(patchedHeader, 0, 0, HEADER_LENGTH);
  patchedHeader.writeUInt16BE(attrOffset + 4 + valueLength - HEADER_LENGTH, 2);
  hmacInto(algorithm, key, out, outOffset, outLength, patchedHeader, raw.subarray(HEADER_LENGTH, attrOffset));
}

/** integrityHmacInto's whole MAC as a new Buffer (20 bytes for SHA-1, 32 for SHA-256). */
export function integrityHmac(
  algorithm: 'sha1' | 'sha256',
  key: Buffer,
  raw: Buffer,
  attrOffset: number,
  valueLength: number,
): Buffer {
  const mac = Buffer.alloc(algorithm === 'sha1' ? INTEGRITY_LENGTH : 32);
  integrityHmacInto(algorithm, key, raw, attrOffset, valueLength, mac, 0, mac.length);
  return mac;
}

/** Checks MESSAGE-INTEGRITY (HMAC-SHA1 under `key`) over the raw received bytes, in constant time. */
export function verifyIntegrity(msg: StunMessage, key: Buffer): boolean {
  const at = msg.integrityOffset;
  if (at < 0 || at + 4 + INTEGRITY_LENGTH > msg.raw.length) return false;
  integrityHmacInto('sha1', key, msg.raw, at, INTEGRITY_LENGTH, expectedMac, 0, INTEGRITY_LENGTH);
  return timingSafeEqual(
    expectedMac.subarray(0, INTEGRITY_LENGTH),
    msg.raw.subarray(at + 4, at + 4 + INTEGRITY_LENGTH),
  );
}

/**
 * Checks MESSAGE-INTEGRITY-SHA256 (HMAC-SHA256 under `key`, truncated to the attribute's 16 to 32
 * bytes, RFC 8489 section 14.6) over the raw received bytes, in constant time. False when absent.
 */
export function verifyIntegritySha256(msg: StunMessage, key: Buffer): boolean {
  const attr = msg.attributes.find((a) => a.type === Attr.MESSAGE_INTEGRITY_SHA256);
  if (!attr) return false;
  const length = attr.value.length;
  if (length < 16 || length > 32 || length % 4 !== 0) return false;
  integrityHmacInto('sha256', key, msg.raw, attr.offset, length, expectedMac, 0, length);
  return timingSafeEqual(expectedMac.subarray(0, length), attr.value);
}
