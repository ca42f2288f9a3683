import { describe, expect, it } from 'vitest';
import {
  encodeAddressFamily,
  encodeChannelNumber,
  encodeEvenPort,
  encodeRequestedTransport,
  encodeUint32,
  isEmptyValue,
  readAddressFamily,
  readAddressFamilyCode,
  readChannelNumber,
  readEvenPort,
  readRequestedTransport,
  readReservationToken,
  readUint32,
} from '../../../src/stun/attributes/turn.js';
import { Attr, Method, Protocol, StunClass } from '../../../src/stun/constants.js';
import { decodeMessage, getAttribute, MessageBuilder, type StunMessage } from '../../../src/stun/message.js';

const hex = (s: string) => Buffer.from(s, 'hex');

describe('CHANNEL-NUMBER', () => {
  it('reads 0x4000..0x4FFF and nothing else, RFC 8656 section 18.1', () => {
    expect(readChannelNumber(hex('40000000'))).toBe(0x4000);
    expect(readChannelNumber(hex('4fffffff'))).toBe(0x4fff); // RFFU bits ignored
    expect(readChannelNumber(hex('3fff0000'))).toBeNull();
    expect(readChannelNumber(hex('50000000'))).toBeNull();
    expect(readChannelNumber(hex('ffff0000'))).toBeNull();
    expect(readChannelNumber(hex('4000'))).toBeNull();
    expect(readChannelNumber(hex('4000000000'))).toBeNull();
  });

  it('encodes with a zero RFFU half, and refuses numbers outside the range', () => {
    expect(encodeChannelNumber(0x4001).toString('hex')).toBe('40010000');
    expect(() => encodeChannelNumber(0x3fff)).toThrow(RangeError);
    expect(() => encodeChannelNumber(0x5000)).toThrow(RangeError);
  });
});

describe('LIFETIME and other 32-bit values', () => {
  it('round-trips and needs exactly 4 bytes', () => {
    expect(readUint32(encodeUint32(600))).toBe(600);
    expect(readUint32(encodeUint32(0xffffffff))).toBe(0xffffffff);
    expect(readUint32(hex('000258'))).toBeNull();
    expect(readUint32(hex('0000025800'))).toBeNull();
    expect(() => encodeUint32(-1)).toThrow(RangeError);
    expect(() => encodeUint32(2 ** 32)).toThrow(RangeError);
  });
});

describe('REQUESTED-TRANSPORT', () => {
  it('is a protocol number followed by 3 RFFU bytes, RFC 8656 section 18.7', () => {
    expect(encodeRequestedTransport(Protocol.UDP).toString('hex')).toBe('11000000');
    expect(readRequestedTransport(hex('11000000'))).toBe(17);
    expect(readRequestedTransport(hex('06ffffff'))).toBe(6);
    expect(readRequestedTransport(hex('11'))).toBeNull();
  });
});

describe('REQUESTED-ADDRESS-FAMILY and ADDITIONAL-ADDRESS-FAMILY', () => {
  it('maps 0x01 and 0x02 to families and keeps unknown codes readable for a 440', () => {
    expect(readAddressFamily(encodeAddressFamily('IPv4'))).toBe('IPv4');
    expect(readAddressFamily(encodeAddressFamily('IPv6'))).toBe('IPv6');
    expect(encodeAddressFamily('IPv6').toString('hex')).toBe('02000000');
    expect(readAddressFamily(hex('03000000'))).toBeNull();
    expect(readAddressFamilyCode(hex('03000000'))).toBe(3);
    expect(readAddressFamilyCode(encodeAddressFamily(7))).toBe(7);
    expect(readAddressFamily(hex('01'))).toBeNull();
    expect(readAddressFamilyCode(hex('0100'))).toBeNull();
  });
});

describe('EVEN-PORT', () => {
  it('reads the R bit of its single byte, RFC 8656 section 18.6', () => {
    expect(readEvenPort(encodeEvenPort(true))).toEqual({ reserveNext: true });
    expect(readEvenPort(encodeEvenPort(false))).toEqual({ reserveNext: false });
    expect(readEvenPort(hex('7f'))).toEqual({ reserveNext: false });
    expect(readEvenPort(hex(''))).toBeNull();
    expect(readEvenPort(hex('80000000'))).toBeNull();
  });
});

describe('RESERVATION-TOKEN, DONT-FRAGMENT, DATA', () => {
  it('reads an 8-byte token as a view, and nothing else', () => {
    const token = hex('0102030405060708');
    expect(readReservationToken(token)).toBe(token);
    expect(readReservationToken(hex('01020304'))).toBeNull();
  });

  it('round-trips through the builder, with padding where the length needs it', () => {
    const data = Buffer.from('hello');
    const buf = new MessageBuilder(StunClass.Request, Method.Allocate, Buffer.alloc(12, 1))
      .addRequestedTransport(Protocol.UDP)
      .addFlag(Attr.DONT_FRAGMENT)
      .addEvenPort(true)
      .addAddressFamily(Attr.REQUESTED_ADDRESS_FAMILY, 'IPv6')
      .addAddressFamily(Attr.ADDITIONAL_ADDRESS_FAMILY, 'IPv6')
      .add(Attr.RESERVATION_TOKEN, hex('0102030405060708'))
      .addChannelNumber(0x4abc)
      .addUint32(Attr.LIFETIME, 3600)
      .add(Attr.DATA, data)
      .build({ fingerprint: true });
    const r = decodeMessage(buf);
    if (!r.ok) throw new Error(r.error);
    const m: StunMessage = r.message;
    const v = (t: number) => getAttribute(m, t)!.value;
    expect(readRequestedTransport(v(Attr.REQUESTED_TRANSPORT))).toBe(17);
    expect(isEmptyValue(v(Attr.DONT_FRAGMENT))).toBe(true);
    expect(readEvenPort(v(Attr.EVEN_PORT))).toEqual({ reserveNext: true });
    expect(readAddressFamily(v(Attr.REQUESTED_ADDRESS_FAMILY))).toBe('IPv6');
    expect(readAddressFamily(v(Attr.ADDITIONAL_ADDRESS_FAMILY))).toBe('IPv6');
    expect(readReservationToken(v(Attr.RESERVATION_TOKEN))?.toString('hex')).toBe('0102030405060708');
    expect(readChannelNumber(v(Attr.CHANNEL_NUMBER))).toBe(0x4abc);
    expect(readUint32(v(Attr.LIFETIME))).toBe(3600);
    expect(v(Attr.DATA).equals(data)).toBe(true);
    expect(m.unknownRequired).toEqual([]);
  });
});
