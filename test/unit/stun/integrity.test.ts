import { createHash, createHmac } from 'node:crypto';
import * as zlib from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Attr, HEADER_LENGTH, MAGIC_COOKIE } from '../../../src/stun/constants.js';
import { crc32, crc32Portable, FINGERPRINT_XOR, fingerprintOf } from '../../../src/stun/fingerprint.js';
import { longTermKey, verifyIntegrity, verifyIntegritySha256 } from '../../../src/stun/integrity.js';
import { decodeMessage, getAttribute, type StunMessage } from '../../../src/stun/message.js';

const KEY = Buffer.from('0123456789abcdef');

function ok(buf: Buffer): StunMessage {
  const r = decodeMessage(buf);
  if (!r.ok) throw new Error(`${r.error}: ${r.detail}`);
  return r.message;
}

function attr(type: number, value: Buffer): Buffer {
  const out = Buffer.alloc(4 + ((value.length + 3) & ~3));
  out.writeUInt16BE(type, 0);
  out.writeUInt16BE(value.length, 2);
  value.copy(out, 4);
  return out;
}

function header(bodyLength: number): Buffer {
  const h = Buffer.alloc(HEADER_LENGTH);
  h.writeUInt16BE(0x0001, 0);
  h.writeUInt16BE(bodyLength, 2);
  h.writeUInt32BE(MAGIC_COOKIE, 4);
  h.fill(7, 8);
  return h;
}

describe('longTermKey', () => {
  it('is MD5 of "username:realm:password", RFC 8489 section 9.2.2', () => {
    const expected = createHash('md5').update('1700000000:acme:example.org:c2VjcmV0').digest();
    expect(longTermKey('1700000000:acme', 'example.org', 'c2VjcmV0').equals(expected)).toBe(true);
    expect(longTermKey('u', 'r', 'p')).toHaveLength(16);
  });
});

describe('MESSAGE-INTEGRITY-SHA256', () => {
  /** A message signed with a truncated HMAC-SHA256 of `length` bytes, computed independently. */
  function signedSha256(length: number, before: Buffer[] = []): Buffer {
    const body = Buffer.concat(before);
    const signed = Buffer.concat([header(body.length + 4 + length), body]);
    const mac = createHmac('sha256', KEY).update(signed).digest().subarray(0, length);
    return Buffer.concat([signed, attr(Attr.MESSAGE_INTEGRITY_SHA256, mac)]);
  }

  it('verifies truncated HMACs of 16 to 32 bytes, and fails under another key', () => {
    for (const n of [16, 20, 24, 28, 32]) {
      const msg = ok(signedSha256(n, [attr(Attr.USERNAME, Buffer.from('bob'))]));
      expect(verifyIntegritySha256(msg, KEY)).toBe(true);
      expect(verifyIntegritySha256(msg, Buffer.from('nope'))).toBe(false);
      expect(verifyIntegrity(msg, KEY)).toBe(false);
    }
  });

  it('is kept after MESSAGE-INTEGRITY, and drops what follows it except FINGERPRINT', () => {
    const mi = createHmac('sha1', KEY).update(header(24)).digest();
    const withMi = Buffer.concat([header(24), attr(Attr.MESSAGE_INTEGRITY, mi)]);
    // Now sign MI-SHA256 over header + MI, with the length ending after MI-SHA256.
    const prefix = Buffer.from(withMi);
    prefix.writeUInt16BE(24 + 36, 2);
    const mac = createHmac('sha256', KEY).update(prefix).digest();
    const full = Buffer.concat([
      prefix,
      attr(Attr.MESSAGE_INTEGRITY_SHA256, mac),
      attr(Attr.SOFTWARE, Buffer.from('ignored')),
      attr(Attr.MESSAGE_INTEGRITY, Buffer.alloc(20)),
    ]);
    full.writeUInt16BE(full.length - 20, 2);
    const msg = ok(full);
    expect(msg.attributes.map((a) => a.type)).toEqual([
      Attr.MESSAGE_INTEGRITY,
      Attr.MESSAGE_INTEGRITY_SHA256,
    ]);
    expect(verifyIntegrity(msg, KEY)).toBe(true);
    expect(verifyIntegritySha256(msg, KEY)).toBe(true);
    expect(getAttribute(msg, Attr.SOFTWARE)).toBeUndefined();
  });
});

describe('FINGERPRINT', () => {
  it('uses CRC-32 (ISO-HDLC): the check value of "123456789" is 0xCBF43926', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    expect(crc32Portable(Buffer.from('123456789'))).toBe(0xcbf43926);
    expect(crc32(Buffer.alloc(0))).toBe(0);
  });

  it('table and native CRC agree on arbitrary bytes', () => {
    const native = (zlib as { crc32?: (b: Uint8Array) => number }).crc32;
    expect(typeof native).toBe('function'); // Node 20.15+: the fast path is the one in use here
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        expect(crc32Portable(bytes)).toBe(crc32(bytes));
      }),
      { numRuns: 2000 },
    );
  });

  it('XORs with 0x5354554e', () => {
    const bytes = Buffer.from('stun');
    expect(fingerprintOf(bytes)).toBe((crc32Portable(bytes) ^ FINGERPRINT_XOR) >>> 0);
  });
});
