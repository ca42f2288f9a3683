import { describe, expect, it } from 'vitest';
import {
  encodeAddressErrorCode,
  encodeErrorCode,
  encodeUnknownAttributes,
  REASON_PHRASES,
  readAddressErrorCode,
  readErrorCode,
  readUnknownAttributes,
} from '../../../src/stun/attributes/error-code.js';
import {
  encodeText,
  MAX_TEXT_BYTES,
  MAX_USERNAME_BYTES,
  readText,
} from '../../../src/stun/attributes/text.js';
import { Attr, ErrorCode, Method, StunClass } from '../../../src/stun/constants.js';
import { decodeMessage, getAttribute, MessageBuilder } from '../../../src/stun/message.js';

describe('text attributes', () => {
  it('round-trips UTF-8', () => {
    for (const text of [
      '',
      'evtj:h6vY',
      '1700000000:acme:opaque',
      '\u30DE\u30C8\u30EA\u30C3\u30AF\u30B9',
      'icegate 0.1',
    ]) {
      expect(readText(encodeText(text, Attr.USERNAME), Attr.USERNAME)).toBe(text);
    }
  });

  it('refuses invalid UTF-8', () => {
    expect(readText(Buffer.from([0x61, 0xff, 0x62]))).toBeNull();
    expect(readText(Buffer.from([0xc3]))).toBeNull();
  });

  it('USERNAME: under 513 bytes', () => {
    expect(readText(Buffer.alloc(MAX_USERNAME_BYTES, 0x61), Attr.USERNAME)).toHaveLength(512);
    expect(readText(Buffer.alloc(MAX_USERNAME_BYTES + 1, 0x61), Attr.USERNAME)).toBeNull();
    expect(() => encodeText('a'.repeat(513), Attr.USERNAME)).toThrow(RangeError);
  });

  it('REALM, NONCE, SOFTWARE: under 128 characters and at most 763 bytes', () => {
    for (const type of [Attr.REALM, Attr.NONCE, Attr.SOFTWARE]) {
      expect(readText(Buffer.alloc(127, 0x61), type)).toHaveLength(127);
      expect(readText(Buffer.alloc(128, 0x61), type)).toBeNull();
      // 127 three-byte characters: 381 bytes, fine.
      expect(readText(Buffer.from('\u30DE'.repeat(127)), type)).toHaveLength(127);
      expect(readText(Buffer.from('\u30DE'.repeat(128)), type)).toBeNull();
      expect(readText(Buffer.alloc(MAX_TEXT_BYTES + 1, 0x61), type)).toBeNull();
      expect(() => encodeText('a'.repeat(128), type)).toThrow(RangeError);
    }
  });
});

describe('ERROR-CODE', () => {
  it('encodes class and number as RFC 8489 section 14.8 lays them out', () => {
    const value = encodeErrorCode(438, 'Stale Nonce');
    expect(value.subarray(0, 4).toString('hex')).toBe('00000426');
    expect(value.subarray(4).toString()).toBe('Stale Nonce');
  });

  it('uses the recommended reason phrase by default, for every code TURN sends', () => {
    for (const code of [300, 400, 401, 403, 420, 437, 438, 440, 441, 442, 443, 446, 447, 486, 500, 508]) {
      const read = readErrorCode(encodeErrorCode(code));
      expect(read?.code).toBe(code);
      expect(read?.reason).toBe(REASON_PHRASES[code]);
      expect(read?.reason.length).toBeGreaterThan(0);
    }
    expect(readErrorCode(encodeErrorCode(ErrorCode.Unauthorized))?.reason).toBe('Unauthenticated');
    expect(readErrorCode(encodeErrorCode(599))).toEqual({ code: 599, reason: '' });
  });

  it('reads null for short values, classes outside 3..6, numbers over 99 and bad UTF-8', () => {
    expect(readErrorCode(Buffer.alloc(3))).toBeNull();
    expect(readErrorCode(Buffer.from('00000200', 'hex'))).toBeNull();
    expect(readErrorCode(Buffer.from('00000700', 'hex'))).toBeNull();
    expect(readErrorCode(Buffer.from('00000464', 'hex'))).toBeNull();
    expect(readErrorCode(Buffer.from('00000401ff', 'hex'))).toBeNull();
    // Reserved bits are ignored.
    expect(readErrorCode(Buffer.from('fffffc01', 'hex'))).toEqual({ code: 401, reason: '' });
  });

  it('throws RangeError for codes outside 300..699', () => {
    expect(() => encodeErrorCode(299)).toThrow(RangeError);
    expect(() => encodeErrorCode(700)).toThrow(RangeError);
  });

  it('works through the builder with UNKNOWN-ATTRIBUTES for a 420', () => {
    const tid = Buffer.alloc(12, 9);
    const buf = new MessageBuilder(StunClass.ErrorResponse, Method.Allocate, tid)
      .addErrorCode(ErrorCode.UnknownAttribute)
      .addUnknownAttributes([0x7777, 0x0002, 0x001e])
      .build({ fingerprint: true });
    const r = decodeMessage(buf);
    if (!r.ok) throw new Error(r.error);
    expect(readErrorCode(getAttribute(r.message, Attr.ERROR_CODE)!.value)).toEqual({
      code: 420,
      reason: 'Unknown Attribute',
    });
    expect(readUnknownAttributes(getAttribute(r.message, Attr.UNKNOWN_ATTRIBUTES)!.value)).toEqual([
      0x7777, 0x0002, 0x001e,
    ]);
  });
});

describe('UNKNOWN-ATTRIBUTES', () => {
  it('round-trips, and refuses an odd length', () => {
    expect(encodeUnknownAttributes([0x7777]).toString('hex')).toBe('7777');
    expect(readUnknownAttributes(encodeUnknownAttributes([]))).toEqual([]);
    expect(readUnknownAttributes(Buffer.alloc(3))).toBeNull();
  });
});

describe('ADDRESS-ERROR-CODE', () => {
  it('carries a family and an error, RFC 8656 section 18.13', () => {
    const value = encodeAddressErrorCode('IPv6', 440);
    expect(value.subarray(0, 4).toString('hex')).toBe('02000428');
    expect(readAddressErrorCode(value)).toEqual({
      family: 'IPv6',
      code: 440,
      reason: 'Address Family not Supported',
    });
    expect(readAddressErrorCode(encodeAddressErrorCode('IPv4', 508, 'full'))).toEqual({
      family: 'IPv4',
      code: 508,
      reason: 'full',
    });
  });

  it('reads null for an unknown family or a malformed error', () => {
    expect(readAddressErrorCode(Buffer.from('03000428', 'hex'))).toBeNull();
    expect(readAddressErrorCode(Buffer.from('010002', 'hex'))).toBeNull();
    expect(readAddressErrorCode(Buffer.from('01000700', 'hex'))).toBeNull();
  });
});
