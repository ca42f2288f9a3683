import { describe, expect, it } from 'vitest';
import { readXorAddress } from '../../../src/stun/attributes/address.js';
import { channelDataHeader, decodeChannelData, encodeChannelData } from '../../../src/stun/channel-data.js';
import { Attr, Method, StunClass } from '../../../src/stun/constants.js';
import {
  dataIndicationParts,
  maxDataIndicationPayload,
  paddingFor,
} from '../../../src/stun/data-indication.js';
import { decodeMessage, getAttribute } from '../../../src/stun/message.js';

describe('ChannelData', () => {
  it('decodes channel, length and a data view', () => {
    const buf = Buffer.from('40010005' + '68656c6c6f', 'hex');
    const r = decodeChannelData(buf);
    expect(r).toMatchObject({ ok: true, channel: 0x4001 });
    if (!r.ok) return;
    expect(r.data.toString()).toBe('hello');
    expect(r.data.buffer).toBe(buf.buffer);
  });

  it('allows trailing padding, and empty data', () => {
    const r = decodeChannelData(Buffer.from('4fff0001' + 'aa000000', 'hex'));
    expect(r.ok && r.data.toString('hex')).toBe('aa');
    const empty = decodeChannelData(Buffer.from('40000000', 'hex'));
    expect(empty.ok && empty.data.length).toBe(0);
  });

  it('refuses short buffers, channels outside 0x4000..0x4FFF and overlong lengths', () => {
    expect(decodeChannelData(Buffer.from('4000', 'hex'))).toMatchObject({ ok: false, error: 'too_short' });
    expect(decodeChannelData(Buffer.from('50000000', 'hex'))).toMatchObject({
      ok: false,
      error: 'bad_channel',
    });
    expect(decodeChannelData(Buffer.from('3fff0000', 'hex'))).toMatchObject({
      ok: false,
      error: 'bad_channel',
    });
    expect(decodeChannelData(Buffer.from('40000002ff', 'hex'))).toMatchObject({
      ok: false,
      error: 'bad_length',
    });
  });

  it('encodes with and without stream padding, and a header alone', () => {
    const data = Buffer.from('hello');
    expect(encodeChannelData(0x4002, data).toString('hex')).toBe(`40020005${data.toString('hex')}`);
    expect(encodeChannelData(0x4002, data, true).toString('hex')).toBe(
      `40020005${data.toString('hex')}000000`,
    );
    expect(channelDataHeader(0x4002, 5).toString('hex')).toBe('40020005');
    expect(() => channelDataHeader(0x3000, 1)).toThrow(RangeError);
    expect(() => channelDataHeader(0x4000, 0x10000)).toThrow(RangeError);
  });
});

describe('Data indication parts', () => {
  const payload = Buffer.from('payload!!'); // 9 bytes: 3 of padding

  for (const peer of [
    { family: 'IPv4' as const, address: '203.0.113.7', port: 5000 },
    { family: 'IPv6' as const, address: '2001:db8::7', port: 6000 },
    { family: 'IPv6' as const, address: '::ffff:203.0.113.7', port: 1 },
  ]) {
    it(`with the payload and padding appended is a valid Data indication (${peer.address})`, () => {
      const parts = dataIndicationParts(peer, payload.length);
      const wire = Buffer.concat([parts, payload, paddingFor(payload.length)]);
      const r = decodeMessage(wire);
      if (!r.ok) throw new Error(`${r.error}: ${r.detail}`);
      const m = r.message;
      expect(m.cls).toBe(StunClass.Indication);
      expect(m.method).toBe(Method.Data);
      expect(readXorAddress(getAttribute(m, Attr.XOR_PEER_ADDRESS)!.value, m.transactionId)).toEqual(peer);
      expect(getAttribute(m, Attr.DATA)!.value.equals(payload)).toBe(true);
    });
  }

  it('uses a fresh transaction id each time', () => {
    const peer = { family: 'IPv4' as const, address: '203.0.113.7', port: 5000 };
    const a = dataIndicationParts(peer, 4).subarray(8, 20);
    const b = dataIndicationParts(peer, 4).subarray(8, 20);
    expect(a.equals(b)).toBe(false);
  });

  it('pads to 4 with shared zero buffers', () => {
    expect([0, 1, 2, 3, 4, 5].map((n) => paddingFor(n).length)).toEqual([0, 3, 2, 1, 0, 3]);
    expect(paddingFor(1)).toBe(paddingFor(5));
    expect(paddingFor(1).every((b) => b === 0)).toBe(true);
  });

  it('refuses payloads the 16-bit length cannot carry', () => {
    const peer = { family: 'IPv6' as const, address: '2001:db8::7', port: 6000 };
    const max = maxDataIndicationPayload('IPv6');
    expect(() => dataIndicationParts(peer, max)).not.toThrow();
    expect(() => dataIndicationParts(peer, max + 1)).toThrow(RangeError);
    const big = Buffer.alloc(max, 1);
    const wire = Buffer.concat([dataIndicationParts(peer, max), big, paddingFor(max)]);
    expect(decodeMessage(wire).ok).toBe(true);
  });
});
