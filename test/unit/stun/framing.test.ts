import { describe, expect, it } from 'vitest';
import { encodeChannelData } from '../../../src/stun/channel-data.js';
import { StreamDeframer, type StreamFrame } from '../../../src/stun/framing.js';
import {
  SAMPLE_IPV6_RESPONSE,
  SAMPLE_LONG_TERM_REQUEST,
  SAMPLE_REQUEST,
} from '../../fixtures/stun/rfc5769.js';

const channelFrame = encodeChannelData(0x4001, Buffer.from('hello'), true); // 4 + 5 + 3 padding
const emptyChannelFrame = encodeChannelData(0x4fff, Buffer.alloc(0), true);
const stream = Buffer.concat([
  SAMPLE_REQUEST,
  channelFrame,
  SAMPLE_IPV6_RESPONSE,
  emptyChannelFrame,
  SAMPLE_LONG_TERM_REQUEST,
]);
const expected = [
  { kind: 'stun', hex: SAMPLE_REQUEST.toString('hex') },
  { kind: 'channel-data', hex: channelFrame.subarray(0, 9).toString('hex') },
  { kind: 'stun', hex: SAMPLE_IPV6_RESPONSE.toString('hex') },
  { kind: 'channel-data', hex: emptyChannelFrame.toString('hex') },
  { kind: 'stun', hex: SAMPLE_LONG_TERM_REQUEST.toString('hex') },
];

const view = (frames: StreamFrame[]) => frames.map((f) => ({ kind: f.kind, hex: f.data.toString('hex') }));

describe('StreamDeframer', () => {
  it('cuts several frames from one chunk, without copying', () => {
    const d = new StreamDeframer();
    const frames = d.push(stream);
    expect(view(frames)).toEqual(expected);
    expect(frames[0]!.data.buffer).toBe(stream.buffer);
    expect(d.bufferedBytes).toBe(0);
    expect(d.error).toBeNull();
  });

  it('gives the same frames however the stream is split in two', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const d = new StreamDeframer();
      const frames = [...d.push(stream.subarray(0, cut)), ...d.push(stream.subarray(cut))];
      expect(view(frames), `cut at ${cut}`).toEqual(expected);
      expect(d.bufferedBytes).toBe(0);
    }
  });

  it('gives the same frames fed one byte at a time', () => {
    const d = new StreamDeframer();
    const frames: StreamFrame[] = [];
    for (let i = 0; i < stream.length; i++) frames.push(...d.push(stream.subarray(i, i + 1)));
    expect(view(frames)).toEqual(expected);
  });

  it('holds a partial frame until it completes', () => {
    const d = new StreamDeframer();
    expect(d.push(SAMPLE_REQUEST.subarray(0, 30))).toEqual([]);
    expect(d.bufferedBytes).toBe(30);
    expect(d.push(SAMPLE_REQUEST.subarray(30, 60))).toEqual([]);
    expect(d.bufferedBytes).toBe(60);
    expect(view(d.push(SAMPLE_REQUEST.subarray(60)))).toEqual([expected[0]]);
    expect(d.bufferedBytes).toBe(0);
  });

  it('fails on a first byte that is neither STUN nor ChannelData, after the frames before it', () => {
    const d = new StreamDeframer();
    const frames = d.push(Buffer.concat([SAMPLE_REQUEST, Buffer.from([0x80, 0, 0, 0])]));
    expect(view(frames)).toEqual([expected[0]]);
    expect(d.error?.code).toBe('not_stun_or_channel_data');
    expect(d.push(SAMPLE_REQUEST)).toEqual([]);
    expect(d.bufferedBytes).toBe(0);
  });

  it('fails on a STUN header without the magic cookie or with an odd length', () => {
    const noCookie = Buffer.from(SAMPLE_REQUEST);
    noCookie[5] = 0;
    const d = new StreamDeframer();
    d.push(noCookie);
    expect(d.error?.code).toBe('bad_magic_cookie');
    const odd = Buffer.from(SAMPLE_REQUEST);
    odd.writeUInt16BE(0x57, 2);
    const d2 = new StreamDeframer();
    d2.push(odd);
    expect(d2.error?.code).toBe('bad_length');
  });

  it('fails on a frame over the configured limit as soon as its header is in', () => {
    const d = new StreamDeframer({ maxBufferedBytes: 64 });
    expect(d.push(SAMPLE_REQUEST.subarray(0, 8))).toEqual([]); // 108-byte frame announced
    expect(d.error?.code).toBe('frame_too_large');
    const big = encodeChannelData(0x4000, Buffer.alloc(100), true);
    const d2 = new StreamDeframer({ maxBufferedBytes: 64 });
    d2.push(big.subarray(0, 4));
    expect(d2.error?.code).toBe('frame_too_large');
    const d3 = new StreamDeframer({ maxBufferedBytes: 108 });
    expect(d3.push(SAMPLE_REQUEST)).toHaveLength(1);
  });

  it('never holds more than the limit, which is at least a STUN header', () => {
    const d = new StreamDeframer({ maxBufferedBytes: 1 });
    expect(d.push(Buffer.from('0001000021', 'hex'))).toEqual([]);
    expect(d.error).toBeNull();
    const frames = d.push(Buffer.from('12a442000000000000000000000000', 'hex'));
    expect(frames.map((f) => f.data.length)).toEqual([20]);
    d.push(Buffer.from('00010004', 'hex'));
    d.push(Buffer.from('2112a442', 'hex'));
    expect(d.error?.code).toBe('frame_too_large');
  });

  it('accepts the largest frames by default', () => {
    const d = new StreamDeframer();
    const big = encodeChannelData(0x4000, Buffer.alloc(0xffff, 7), true);
    expect(big.length).toBe(4 + 0x10000);
    const frames = [...d.push(big.subarray(0, 1000)), ...d.push(big.subarray(1000))];
    expect(frames).toHaveLength(1);
    expect(frames[0]!.data.length).toBe(4 + 0xffff);
    expect(d.error).toBeNull();
  });
});
