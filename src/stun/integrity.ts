// MESSAGE-INTEGRITY (RFC 8489 section 14.5) and MESSAGE-INTEGRITY-SHA256 (section 14.6).
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { Attr, HEADER_LENGTH } from './constants.js';
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

// Scratch copy of the header with its length patched; hashing is synchronous, so one is enough.
const patchedHeader = Buffer.alloc(HEADER_LENGTH);

/**
 * HMAC over `raw[0..attrOffset)` with the header length field set as if the message ended right after
 * an integrity attribute of `valueLength` bytes at `attrOffset` (RFC 8489 section 14.5): the received
 * bytes are hashed as they are, padding included, never re-encoded.
 */
export function integrityHmac(
  algorithm: 'sha1' | 'sha256',
  key: Buffer,
  raw: Buffer,
  attrOffset: number,
  valueLength: number,
): Buffer {
  raw.copy(patchedHeader, 0, 0, HEADER_LENGTH);
  patchedHeader.writeUInt16BE(attrOffset + 4 + valueLength - HEADER_LENGTH, 2);
  return createHmac(algorithm, key)
    .update(patchedHeader)
    .update(raw.subarray(HEADER_LENGTH, attrOffset))
    .digest();
}

/** Checks MESSAGE-INTEGRITY (HMAC-SHA1 under `key`) over the raw received bytes, in constant time. */
export function verifyIntegrity(msg: StunMessage, key: Buffer): boolean {
  const at = msg.integrityOffset;
  if (at < 0 || at + 4 + INTEGRITY_LENGTH > msg.raw.length) return false;
  const expected = integrityHmac('sha1', key, msg.raw, at, INTEGRITY_LENGTH);
  return timingSafeEqual(expected, msg.raw.subarray(at + 4, at + 4 + INTEGRITY_LENGTH));
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
  const expected = integrityHmac('sha256', key, msg.raw, attr.offset, length).subarray(0, length);
  return timingSafeEqual(expected, attr.value);
}
