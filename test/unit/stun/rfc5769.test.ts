import { describe, expect, it } from 'vitest';
import { readXorAddress } from '../../../src/stun/attributes/address.js';
import { readText } from '../../../src/stun/attributes/text.js';
import { readUint32 } from '../../../src/stun/attributes/turn.js';
import { Attr, Method, StunClass } from '../../../src/stun/constants.js';
import { fingerprintOf } from '../../../src/stun/fingerprint.js';
import { integrityHmac, longTermKey, shortTermKey, verifyIntegrity } from '../../../src/stun/integrity.js';
import { decodeMessage, getAttribute, MessageBuilder, type StunMessage } from '../../../src/stun/message.js';
import {
  LONG_TERM_NONCE,
  LONG_TERM_PASSWORD,
  LONG_TERM_REALM,
  LONG_TERM_TRANSACTION_ID,
  LONG_TERM_USERNAME,
  SAMPLE_IPV4_RESPONSE,
  SAMPLE_IPV6_RESPONSE,
  SAMPLE_LONG_TERM_REQUEST,
  SAMPLE_REQUEST,
  SHORT_TERM_PASSWORD,
  TRANSACTION_ID,
} from '../../fixtures/stun/rfc5769.js';

function decoded(buf: Buffer): StunMessage {
  const result = decodeMessage(buf);
  if (!result.ok) throw new Error(`${result.error}: ${result.detail}`);
  return result.message;
}

function value(msg: StunMessage, type: number): Buffer {
  const attr = getAttribute(msg, type);
  if (!attr) throw new Error(`no attribute 0x${type.toString(16)}`);
  return attr.value;
}

// SOFTWARE "test vector" is 11 bytes: its one pad byte follows the 20-byte header and the attribute header.
const SOFTWARE_PAD = 20 + 4 + 11;

/** USERNAME "evtj:h6vY" is 9 bytes: three pad bytes. */
function usernamePad(msg: StunMessage): number[] {
  const at = getAttribute(msg, Attr.USERNAME)!.offset + 4 + 9;
  return [at, at + 1, at + 2];
}

/**
 * The builder pads with zeros where RFC 5769 pads with 0x20, and MESSAGE-INTEGRITY and FINGERPRINT
 * cover the padding. So: the built message must verify on its own; must equal the vector everywhere
 * but those pad bytes, the HMAC and the CRC; and, with the vector's pad bytes put back and the HMAC
 * and CRC recomputed as the builder does, must equal the vector byte for byte.
 */
function expectSameAsVector(built: Buffer, vector: Buffer, padBytes: number[], key: Buffer): void {
  const msg = decoded(built);
  expect(verifyIntegrity(msg, key)).toBe(true);
  expect(built.length).toBe(vector.length);
  const mi = msg.integrityOffset + 4;
  const fp = getAttribute(msg, Attr.FINGERPRINT)!.offset + 4;
  for (let i = 0; i < built.length; i++) {
    const sealed = (i >= mi && i < mi + 20) || (i >= fp && i < fp + 4);
    if (padBytes.includes(i)) expect(built[i]).toBe(0);
    else if (!sealed) expect(built[i], `byte ${i}`).toBe(vector[i]);
  }
  const resealed = Buffer.from(built);
  for (const i of padBytes) resealed[i] = 0x20;
  integrityHmac('sha1', key, resealed, mi - 4, 20).copy(resealed, mi);
  resealed.writeUInt32BE(fingerprintOf(resealed.subarray(0, fp - 4)), fp);
  expect(resealed.toString('hex')).toBe(vector.toString('hex'));
}

const shortKey = shortTermKey(SHORT_TERM_PASSWORD);

describe('RFC 5769 section 2.1, sample request', () => {
  const msg = decoded(SAMPLE_REQUEST);

  it('decodes as a Binding request with the vector transaction id', () => {
    expect(msg.cls).toBe(StunClass.Request);
    expect(msg.method).toBe(Method.Binding);
    expect(msg.transactionId.equals(TRANSACTION_ID)).toBe(true);
    expect(msg.attributes.map((a) => a.type)).toEqual([
      Attr.SOFTWARE,
      Attr.PRIORITY,
      Attr.ICE_CONTROLLED,
      Attr.USERNAME,
      Attr.MESSAGE_INTEGRITY,
      Attr.FINGERPRINT,
    ]);
    expect(msg.unknownRequired).toEqual([]);
  });

  it('reads SOFTWARE, USERNAME, PRIORITY and ICE-CONTROLLED', () => {
    expect(readText(value(msg, Attr.SOFTWARE), Attr.SOFTWARE)).toBe('STUN test client');
    expect(readText(value(msg, Attr.USERNAME), Attr.USERNAME)).toBe('evtj:h6vY');
    expect(readUint32(value(msg, Attr.PRIORITY))).toBe(0x6e0001ff);
    expect(value(msg, Attr.ICE_CONTROLLED).toString('hex')).toBe('932ff9b151263b36');
  });

  it('verifies MESSAGE-INTEGRITY with the short-term password, and not with another', () => {
    expect(verifyIntegrity(msg, shortKey)).toBe(true);
    expect(verifyIntegrity(msg, shortTermKey('VOkJxbRl1RmTxUk/WvJxBu'))).toBe(false);
  });

  it('re-encodes with the builder: same bytes but the zero padding, and MI/FP as the vector once resealed', () => {
    const built = new MessageBuilder(msg.cls, msg.method, msg.transactionId)
      .addText(Attr.SOFTWARE, 'STUN test client')
      .addUint32(Attr.PRIORITY, 0x6e0001ff)
      .add(Attr.ICE_CONTROLLED, Buffer.from('932ff9b151263b36', 'hex'))
      .addText(Attr.USERNAME, 'evtj:h6vY')
      .build({ integrityKey: shortKey, fingerprint: true });
    expectSameAsVector(built, SAMPLE_REQUEST, usernamePad(msg), shortKey);
  });
});

describe('RFC 5769 section 2.2, IPv4 response', () => {
  const msg = decoded(SAMPLE_IPV4_RESPONSE);

  it('decodes as a Binding success response with SOFTWARE "test vector"', () => {
    expect(msg.cls).toBe(StunClass.SuccessResponse);
    expect(msg.method).toBe(Method.Binding);
    expect(readText(value(msg, Attr.SOFTWARE), Attr.SOFTWARE)).toBe('test vector');
  });

  it('reads XOR-MAPPED-ADDRESS 192.0.2.1:32853', () => {
    expect(readXorAddress(value(msg, Attr.XOR_MAPPED_ADDRESS), msg.transactionId)).toEqual({
      family: 'IPv4',
      address: '192.0.2.1',
      port: 32853,
    });
  });

  it('verifies MESSAGE-INTEGRITY', () => {
    expect(verifyIntegrity(msg, shortKey)).toBe(true);
    expect(verifyIntegrity(msg, shortTermKey('wrong'))).toBe(false);
  });

  it('re-encodes with the builder: same bytes but the pad byte, and MI/FP as the vector once resealed', () => {
    const built = new MessageBuilder(StunClass.SuccessResponse, Method.Binding, TRANSACTION_ID)
      .addText(Attr.SOFTWARE, 'test vector')
      .addXorAddress(Attr.XOR_MAPPED_ADDRESS, { family: 'IPv4', address: '192.0.2.1', port: 32853 })
      .build({ integrityKey: shortKey, fingerprint: true });
    expectSameAsVector(built, SAMPLE_IPV4_RESPONSE, [SOFTWARE_PAD], shortKey);
  });
});

describe('RFC 5769 section 2.3, IPv6 response', () => {
  const msg = decoded(SAMPLE_IPV6_RESPONSE);

  it('reads XOR-MAPPED-ADDRESS [2001:db8:1234:5678:11:2233:4455:6677]:32853', () => {
    expect(readXorAddress(value(msg, Attr.XOR_MAPPED_ADDRESS), msg.transactionId)).toEqual({
      family: 'IPv6',
      address: '2001:db8:1234:5678:11:2233:4455:6677',
      port: 32853,
    });
  });

  it('verifies MESSAGE-INTEGRITY and FINGERPRINT', () => {
    expect(verifyIntegrity(msg, shortKey)).toBe(true);
    expect(getAttribute(msg, Attr.FINGERPRINT)?.value.toString('hex')).toBe('c8fb0b4c');
  });

  it('re-encodes with the builder: same bytes but the pad byte, and MI/FP as the vector once resealed', () => {
    const built = new MessageBuilder(StunClass.SuccessResponse, Method.Binding, TRANSACTION_ID)
      .addText(Attr.SOFTWARE, 'test vector')
      .addXorAddress(Attr.XOR_MAPPED_ADDRESS, {
        family: 'IPv6',
        address: '2001:db8:1234:5678:11:2233:4455:6677',
        port: 32853,
      })
      .build({ integrityKey: shortKey, fingerprint: true });
    expectSameAsVector(built, SAMPLE_IPV6_RESPONSE, [SOFTWARE_PAD], shortKey);
  });
});

describe('RFC 5769 section 2.4, request with long-term authentication', () => {
  const msg = decoded(SAMPLE_LONG_TERM_REQUEST);
  const key = longTermKey(LONG_TERM_USERNAME, LONG_TERM_REALM, LONG_TERM_PASSWORD);

  it('decodes USERNAME, NONCE and REALM', () => {
    expect(msg.transactionId.equals(LONG_TERM_TRANSACTION_ID)).toBe(true);
    expect(readText(value(msg, Attr.USERNAME), Attr.USERNAME)).toBe(LONG_TERM_USERNAME);
    expect(readText(value(msg, Attr.NONCE), Attr.NONCE)).toBe(LONG_TERM_NONCE);
    expect(readText(value(msg, Attr.REALM), Attr.REALM)).toBe(LONG_TERM_REALM);
    expect(getAttribute(msg, Attr.FINGERPRINT)).toBeUndefined();
  });

  it('verifies MESSAGE-INTEGRITY under MD5(username:realm:password), and not under a wrong password', () => {
    expect(verifyIntegrity(msg, key)).toBe(true);
    expect(verifyIntegrity(msg, longTermKey(LONG_TERM_USERNAME, LONG_TERM_REALM, 'TheMatrix'))).toBe(false);
  });

  it('re-encodes byte for byte with the builder (its padding is zero already)', () => {
    const built = new MessageBuilder(StunClass.Request, Method.Binding, LONG_TERM_TRANSACTION_ID)
      .addText(Attr.USERNAME, LONG_TERM_USERNAME)
      .addText(Attr.NONCE, LONG_TERM_NONCE)
      .addText(Attr.REALM, LONG_TERM_REALM)
      .build({ integrityKey: key });
    expect(built.toString('hex')).toBe(SAMPLE_LONG_TERM_REQUEST.toString('hex'));
  });
});
