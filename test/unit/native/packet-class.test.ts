import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { NativeDataPlane, requireNativeAddon } from '../../../src/transport/native/index.js';

const skipNative = process.env.ICEGATE_SKIP_NATIVE === '1';

function stun(length: number, size = 20 + length): Uint8Array {
  const b = new Uint8Array(size);
  b[0] = 0x00;
  b[1] = 0x01;
  b[2] = length >> 8;
  b[3] = length & 0xff;
  b.set([0x21, 0x12, 0xa4, 0x42], 4);
  return b;
}

function channelData(channel: number, length: number, size = 4 + length): Uint8Array {
  const b = new Uint8Array(size);
  b[0] = channel >> 8;
  b[1] = channel & 0xff;
  b[2] = length >> 8;
  b[3] = length & 0xff;
  return b;
}

describe.skipIf(skipNative)('native packet classifier (RFC 7983 §7, RFC 8656 §12.4)', () => {
  let plane: NativeDataPlane;
  beforeAll(() => {
    plane = new NativeDataPlane(requireNativeAddon());
  });

  it('accepts a STUN header whose length matches the datagram', () => {
    expect(plane.classify(stun(8))).toEqual({ kind: 'stun', reason: null, channel: 0, length: 8 });
  });

  it('rejects STUN framing errors with a reason', () => {
    expect(plane.classify(stun(0, 19)).reason).toBe('too-short');
    const noCookie = stun(0);
    noCookie[4] = 0;
    expect(plane.classify(noCookie).reason).toBe('bad-cookie');
    expect(plane.classify(stun(6)).reason).toBe('bad-stun-length');
    expect(plane.classify(stun(8, 32)).reason).toBe('bad-stun-length');
  });

  it('accepts ChannelData with and without padding, reporting number and length', () => {
    expect(plane.classify(channelData(0x4001, 5))).toEqual({
      kind: 'channel-data',
      reason: null,
      channel: 0x4001,
      length: 5,
    });
    expect(plane.classify(channelData(0x4fff, 5, 12)).kind).toBe('channel-data');
    expect(plane.classify(channelData(0x4000, 0)).length).toBe(0);
  });

  it("takes RFC 5766's channel range 0x4000-0x7FFF, 0x7FFF included, as the core does", () => {
    // coturn's turnutils_uclient draws from all of it (RFC 5766 §11); src/turn takes them.
    for (const channel of [0x5000, 0x6abc, 0x7ffe, 0x7fff]) {
      expect(plane.classify(channelData(channel, 3))).toEqual({
        kind: 'channel-data',
        reason: null,
        channel,
        length: 3,
      });
    }
    expect(plane.classify(channelData(0x7fff, 0))).toMatchObject({ kind: 'channel-data', length: 0 });
    expect(plane.classify(channelData(0x5001, 10, 8)).reason).toBe('channel-truncated');
  });

  it('rejects ChannelData that is shorter than its length, and ignores bytes after the data', () => {
    expect(plane.classify(new Uint8Array([0x40, 0x00, 0x00])).reason).toBe('too-short');
    expect(plane.classify(channelData(0x4001, 10, 8)).reason).toBe('channel-truncated');
    // RFC 8656 §12.6 discards only what is too short; the core ignores what follows the data.
    for (const extra of [0, 1, 3, 4, 8, 100]) {
      expect(plane.classify(channelData(0x4001, 4, 8 + extra))).toEqual({
        kind: 'channel-data',
        reason: null,
        channel: 0x4001,
        length: 4,
      });
    }
  });

  it('leaves other traffic (DTLS, RTP, empty) as other', () => {
    expect(plane.classify(new Uint8Array([22, 254, 253])).kind).toBe('other');
    expect(plane.classify(new Uint8Array([0x80, 0x60, 0, 1])).kind).toBe('other');
    expect(plane.classify(new Uint8Array(0)).kind).toBe('other');
    expect(plane.classify(new Uint8Array([0xc0, 0, 0, 0])).kind).toBe('other');
    expect(plane.classify(new Uint8Array([0x3f, 0, 0, 0])).kind).toBe('other');
  });

  it('never throws, and its accepted framings are within the bytes given (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 96 }), fc.boolean(), (bytes, forceChannel) => {
        if (forceChannel && bytes.length > 0) bytes[0] = 0x40 | ((bytes[0] ?? 0) & 0x3f);
        const c = plane.classify(bytes);
        if (c.kind === 'channel-data') {
          expect(c.channel).toBeGreaterThanOrEqual(0x4000);
          expect(c.channel).toBeLessThanOrEqual(0x7fff);
          expect(4 + c.length).toBeLessThanOrEqual(bytes.length);
        }
        if (c.kind === 'stun') expect(20 + c.length).toBe(bytes.length);
        expect(c.kind === 'invalid').toBe(c.reason !== null);
      }),
      { numRuns: 2000 },
    );
  });
});
