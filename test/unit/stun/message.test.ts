import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Attr, HEADER_LENGTH, MAGIC_COOKIE, Method, StunClass } from '../../../src/stun/constants.js';
import { fingerprintOf } from '../../../src/stun/fingerprint.js';
import { verifyIntegrity } from '../../../src/stun/integrity.js';
import {
  classify,
  decodeMessage,
  getAttribute,
  MAX_ATTRIBUTES,
  MessageBuilder,
  newTransactionId,
  type StunMessage,
} from '../../../src/stun/message.js';
import { classOf, encodeMessageType, methodOf } from '../../../src/stun/message-type.js';
import { SAMPLE_IPV4_RESPONSE, SAMPLE_REQUEST } from '../../fixtures/stun/rfc5769.js';

const TID = Buffer.from('0102030405060708090a0b0c', 'hex');
const KEY = Buffer.from('secret-key');

function ok(buf: Buffer): StunMessage {
  const r = decodeMessage(buf);
  if (!r.ok) throw new Error(`${r.error}: ${r.detail}`);
  return r.message;
}

function errorOf(buf: Buffer): string {
  const r = decodeMessage(buf);
  return r.ok ? 'ok' : r.error;
}

/** A header for `body`, with a correct length, followed by it. */
function message(body: Buffer, type = 0x0001): Buffer {
  const header = Buffer.alloc(HEADER_LENGTH);
  header.writeUInt16BE(type, 0);
  header.writeUInt16BE(body.length, 2);
  header.writeUInt32BE(MAGIC_COOKIE, 4);
  TID.copy(header, 8);
  return Buffer.concat([header, body]);
}

/** One raw attribute, padded with `pad`. */
function attr(type: number, value: Buffer, pad = 0): Buffer {
  const out = Buffer.alloc(4 + ((value.length + 3) & ~3), pad);
  out.writeUInt16BE(type, 0);
  out.writeUInt16BE(value.length, 2);
  value.copy(out, 4);
  return out;
}

describe('message type', () => {
  it('interleaves class and method bits as RFC 8489 section 5 shows', () => {
    expect(encodeMessageType(StunClass.Request, Method.Binding)).toBe(0x0001);
    expect(encodeMessageType(StunClass.SuccessResponse, Method.Binding)).toBe(0x0101);
    expect(encodeMessageType(StunClass.ErrorResponse, Method.Allocate)).toBe(0x0113);
    expect(encodeMessageType(StunClass.Indication, Method.Send)).toBe(0x0016);
    expect(encodeMessageType(StunClass.Indication, Method.Data)).toBe(0x0017);
    for (let method = 0; method <= 0xfff; method += 37) {
      for (const cls of [0, 1, 2, 3] as StunClass[]) {
        const type = encodeMessageType(cls, method);
        expect(type & 0xc000).toBe(0);
        expect(methodOf(type)).toBe(method);
        expect(classOf(type)).toBe(cls);
      }
    }
  });
});

describe('decodeMessage header checks', () => {
  it('refuses fewer than 20 bytes', () => {
    expect(errorOf(Buffer.alloc(0))).toBe('too_short');
    expect(errorOf(SAMPLE_REQUEST.subarray(0, 19))).toBe('too_short');
  });

  it('refuses a first byte whose top two bits are not zero', () => {
    const buf = Buffer.from(SAMPLE_REQUEST);
    buf[0] = 0x40;
    expect(errorOf(buf)).toBe('not_stun');
    buf[0] = 0x80;
    expect(errorOf(buf)).toBe('not_stun');
  });

  it('refuses a missing magic cookie', () => {
    const buf = Buffer.from(SAMPLE_REQUEST);
    buf[4] = 0x22;
    expect(errorOf(buf)).toBe('bad_magic_cookie');
  });

  it('refuses a length that is not a multiple of 4 or does not match the buffer', () => {
    expect(errorOf(Buffer.concat([SAMPLE_REQUEST, Buffer.alloc(4)]))).toBe('bad_length');
    expect(errorOf(SAMPLE_REQUEST.subarray(0, SAMPLE_REQUEST.length - 4))).toBe('bad_length');
    const odd = message(Buffer.alloc(6));
    expect(errorOf(odd)).toBe('bad_length');
  });

  it('decodes a bare header with no attributes', () => {
    const msg = ok(message(Buffer.alloc(0), 0x0111));
    expect(msg.cls).toBe(StunClass.ErrorResponse);
    expect(msg.method).toBe(Method.Binding);
    expect(msg.attributes).toEqual([]);
    expect(msg.integrityOffset).toBe(-1);
  });
});

describe('decodeMessage attribute checks', () => {
  it('gives views into the received buffer, not copies', () => {
    const buf = Buffer.from(SAMPLE_REQUEST);
    const msg = ok(buf);
    const software = getAttribute(msg, Attr.SOFTWARE)!;
    expect(software.offset).toBe(20);
    expect(software.value.buffer).toBe(buf.buffer);
    expect(software.value.byteOffset).toBe(buf.byteOffset + 24);
    expect(msg.transactionId.byteOffset).toBe(buf.byteOffset + 8);
    expect(msg.raw).toBe(buf);
  });

  it('refuses an attribute whose value overruns the message', () => {
    const body = Buffer.concat([attr(Attr.SOFTWARE, Buffer.from('abcd'))]);
    body.writeUInt16BE(5, 2); // 5 bytes of value padded to 8: 4 more than there are
    expect(errorOf(message(body))).toBe('bad_attribute_length');
  });

  it('refuses an attribute whose padding is missing', () => {
    const value = Buffer.from('abcde');
    const body = Buffer.alloc(4 + 5 + 3);
    body.writeUInt16BE(Attr.SOFTWARE, 0);
    body.writeUInt16BE(9, 2); // claims 9 bytes: 12 with padding, 8 are there
    value.copy(body, 4);
    expect(errorOf(message(body))).toBe('bad_attribute_length');
  });

  it('ignores the values of pad bytes', () => {
    const msg = ok(message(attr(Attr.USERNAME, Buffer.from('abcde'), 0xff)));
    expect(getAttribute(msg, Attr.USERNAME)!.value.toString()).toBe('abcde');
  });

  it('reports unknown comprehension-required attributes once each, and ignores unknown optional ones', () => {
    const body = Buffer.concat([
      attr(0x7777, Buffer.from('x')),
      attr(0x0002, Buffer.alloc(0)), // RESPONSE-ADDRESS, retired in RFC 5389
      attr(0x7777, Buffer.from('y')),
      attr(0xc001, Buffer.from('optional')),
      attr(Attr.USERHASH, Buffer.alloc(32)),
      attr(Attr.LIFETIME, Buffer.alloc(4)),
    ]);
    const msg = ok(message(body, 0x0003));
    expect(msg.unknownRequired).toEqual([0x7777, 0x0002, Attr.USERHASH]);
    expect(msg.attributes).toHaveLength(6);
  });

  it('knows every TURN and ICE comprehension-required attribute', () => {
    const types = [
      Attr.MAPPED_ADDRESS,
      Attr.USERNAME,
      Attr.ERROR_CODE,
      Attr.UNKNOWN_ATTRIBUTES,
      Attr.CHANNEL_NUMBER,
      Attr.LIFETIME,
      Attr.XOR_PEER_ADDRESS,
      Attr.DATA,
      Attr.REALM,
      Attr.NONCE,
      Attr.XOR_RELAYED_ADDRESS,
      Attr.REQUESTED_ADDRESS_FAMILY,
      Attr.EVEN_PORT,
      Attr.REQUESTED_TRANSPORT,
      Attr.DONT_FRAGMENT,
      Attr.XOR_MAPPED_ADDRESS,
      Attr.RESERVATION_TOKEN,
      Attr.PRIORITY,
      Attr.USE_CANDIDATE,
    ];
    const msg = ok(message(Buffer.concat(types.map((t) => attr(t, Buffer.alloc(4))))));
    expect(msg.unknownRequired).toEqual([]);
  });

  it(`refuses more than ${MAX_ATTRIBUTES} attributes`, () => {
    const many = (n: number) =>
      message(Buffer.concat(Array.from({ length: n }, () => attr(0xc000, Buffer.alloc(0)))));
    expect(ok(many(MAX_ATTRIBUTES)).attributes).toHaveLength(MAX_ATTRIBUTES);
    expect(errorOf(many(MAX_ATTRIBUTES + 1))).toBe('too_many_attributes');
  });
});

describe('MESSAGE-INTEGRITY handling', () => {
  it('drops attributes after MESSAGE-INTEGRITY but keeps FINGERPRINT, and still verifies', () => {
    const built = new MessageBuilder(StunClass.Request, Method.Allocate, TID)
      .addText(Attr.USERNAME, 'alice')
      .build({ integrityKey: KEY });
    // Append an attribute after MI, then a FINGERPRINT, fixing the header length.
    const extra = attr(Attr.LIFETIME, Buffer.from([0, 0, 0, 0]));
    const withExtra = Buffer.concat([built, extra, Buffer.alloc(8)]);
    withExtra.writeUInt16BE(withExtra.length - 20, 2);
    const fpAt = withExtra.length - 8;
    withExtra.writeUInt16BE(Attr.FINGERPRINT, fpAt);
    withExtra.writeUInt16BE(4, fpAt + 2);
    withExtra.writeUInt32BE(fingerprintOf(withExtra.subarray(0, fpAt)), fpAt + 4);
    const msg = ok(withExtra);
    expect(msg.attributes.map((a) => a.type)).toEqual([
      Attr.USERNAME,
      Attr.MESSAGE_INTEGRITY,
      Attr.FINGERPRINT,
    ]);
    expect(getAttribute(msg, Attr.LIFETIME)).toBeUndefined();
    expect(verifyIntegrity(msg, KEY)).toBe(true);
  });

  it('does not count unknown attributes after MESSAGE-INTEGRITY as unknown', () => {
    const built = new MessageBuilder(StunClass.Request, Method.Allocate, TID).build({ integrityKey: KEY });
    const withExtra = Buffer.concat([built, attr(0x7777, Buffer.alloc(4))]);
    withExtra.writeUInt16BE(withExtra.length - 20, 2);
    const msg = ok(withExtra);
    expect(msg.unknownRequired).toEqual([]);
    expect(verifyIntegrity(msg, KEY)).toBe(true);
  });

  it('verifies over the raw bytes: a peer that pads with non-zero bytes still verifies', () => {
    // Sign as such a peer would, independently of our encoder: header with the length ending after
    // MI, USERNAME padded with 0xee, HMAC-SHA1 over all of that.
    const username = attr(Attr.USERNAME, Buffer.from('abcde'), 0xee);
    const signedPart = message(username, 0x0003);
    signedPart.writeUInt16BE(username.length + 24, 2);
    const hmac = createHmac('sha1', KEY).update(signedPart).digest();
    const peerBytes = Buffer.concat([signedPart, attr(Attr.MESSAGE_INTEGRITY, hmac)]);
    const msg = ok(peerBytes);
    expect(verifyIntegrity(msg, KEY)).toBe(true);
    // Zeroing the padding (as a re-encoder would) changes the HMAC input: it must then fail.
    const zeroed = Buffer.from(peerBytes);
    zeroed.fill(0, 20 + 4 + 5, 20 + 4 + 8);
    expect(verifyIntegrity(ok(zeroed), KEY)).toBe(false);
  });

  it('fails without MESSAGE-INTEGRITY, with a wrong key, or with a flipped bit', () => {
    const plain = new MessageBuilder(StunClass.Request, Method.Allocate, TID).build();
    expect(verifyIntegrity(ok(plain), KEY)).toBe(false);
    const signed = new MessageBuilder(StunClass.Request, Method.Allocate, TID)
      .addUint32(Attr.LIFETIME, 600)
      .build({ integrityKey: KEY, fingerprint: true });
    expect(verifyIntegrity(ok(signed), Buffer.from('other'))).toBe(false);
    const flipped = Buffer.from(signed);
    flipped[27] = flipped[27]! ^ 1; // inside LIFETIME
    // FINGERPRINT catches it first; without FINGERPRINT integrity catches it.
    expect(errorOf(flipped)).toBe('bad_fingerprint');
    const signedOnly = new MessageBuilder(StunClass.Request, Method.Allocate, TID)
      .addUint32(Attr.LIFETIME, 600)
      .build({ integrityKey: KEY });
    const flipped2 = Buffer.from(signedOnly);
    flipped2[27] = flipped2[27]! ^ 1;
    expect(verifyIntegrity(ok(flipped2), KEY)).toBe(false);
  });

  it('refuses a MESSAGE-INTEGRITY that is not 20 bytes', () => {
    expect(errorOf(message(attr(Attr.MESSAGE_INTEGRITY, Buffer.alloc(16))))).toBe('bad_attribute_length');
  });

  it('accepts MESSAGE-INTEGRITY-SHA256 of 16 to 32 bytes in steps of 4, nothing else', () => {
    for (const n of [16, 20, 24, 28, 32]) {
      expect(errorOf(message(attr(Attr.MESSAGE_INTEGRITY_SHA256, Buffer.alloc(n))))).toBe('ok');
    }
    for (const n of [0, 12, 18, 36]) {
      expect(errorOf(message(attr(Attr.MESSAGE_INTEGRITY_SHA256, Buffer.alloc(n))))).toBe(
        'bad_attribute_length',
      );
    }
  });
});

describe('FINGERPRINT handling', () => {
  it('refuses a FINGERPRINT that is not last', () => {
    const built = new MessageBuilder(StunClass.Request, Method.Binding, TID).build({ fingerprint: true });
    const buf = Buffer.concat([built, attr(Attr.SOFTWARE, Buffer.from('late'))]);
    buf.writeUInt16BE(buf.length - 20, 2);
    expect(errorOf(buf)).toBe('fingerprint_not_last');
  });

  it('refuses a wrong FINGERPRINT or one not 4 bytes', () => {
    const built = new MessageBuilder(StunClass.Request, Method.Binding, TID).build({ fingerprint: true });
    const wrong = Buffer.from(built);
    wrong[wrong.length - 1] = wrong[wrong.length - 1]! ^ 0x01;
    expect(errorOf(wrong)).toBe('bad_fingerprint');
    expect(errorOf(message(attr(Attr.FINGERPRINT, Buffer.alloc(8))))).toBe('bad_attribute_length');
  });

  it('accepts the vectors', () => {
    expect(errorOf(SAMPLE_REQUEST)).toBe('ok');
    expect(errorOf(SAMPLE_IPV4_RESPONSE)).toBe('ok');
  });
});

describe('MessageBuilder', () => {
  it('writes header, attributes with zero padding, and a length that matches', () => {
    const buf = new MessageBuilder(StunClass.Request, Method.Binding, TID)
      .add(0xc000, Buffer.from('abc'))
      .build();
    expect(buf.toString('hex')).toBe(
      `00010008${MAGIC_COOKIE.toString(16)}${TID.toString('hex')}c000000361626300`,
    );
  });

  it('puts MESSAGE-INTEGRITY then FINGERPRINT last', () => {
    const msg = ok(
      new MessageBuilder(StunClass.SuccessResponse, Method.Allocate, TID)
        .addUint32(Attr.LIFETIME, 600)
        .build({ integrityKey: KEY, fingerprint: true }),
    );
    expect(msg.attributes.map((a) => a.type)).toEqual([
      Attr.LIFETIME,
      Attr.MESSAGE_INTEGRITY,
      Attr.FINGERPRINT,
    ]);
    expect(msg.integrityOffset).toBe(28);
    expect(verifyIntegrity(msg, KEY)).toBe(true);
  });

  it('throws RangeError on a bad transaction id, type, oversized value or message', () => {
    expect(() => new MessageBuilder(StunClass.Request, Method.Binding, Buffer.alloc(11))).toThrow(RangeError);
    const b = new MessageBuilder(StunClass.Request, Method.Binding, TID);
    expect(() => b.add(0x10000, Buffer.alloc(0))).toThrow(RangeError);
    expect(() => b.add(0xc000, Buffer.alloc(0x10000))).toThrow(RangeError);
    b.add(0xc000, Buffer.alloc(0xfff0));
    expect(() => b.build({ integrityKey: KEY })).toThrow(RangeError);
  });
});

describe('newTransactionId and classify', () => {
  it('gives distinct 12-byte ids', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const id = newTransactionId();
      expect(id.length).toBe(12);
      ids.add(id.toString('hex'));
    }
    expect(ids.size).toBe(2000);
  });

  it('tells STUN, ChannelData and the rest apart by the first two bits', () => {
    expect(classify(SAMPLE_REQUEST)).toBe('stun');
    expect(classify(Buffer.from([0x40, 0x00, 0x00, 0x00]))).toBe('channel-data');
    expect(classify(Buffer.from([0x7f]))).toBe('channel-data');
    expect(classify(Buffer.from([0x80]))).toBe('other');
    expect(classify(Buffer.from([0x16, 0xfe]))).toBe('stun'); // DTLS is for the decoder to refuse
    expect(classify(Buffer.alloc(0))).toBe('other');
  });
});
