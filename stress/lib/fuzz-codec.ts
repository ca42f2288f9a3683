// Fuzz targets of the wire codec (src/stun/): decodeMessage with every attribute reader on what
// it accepts, decodeChannelData, and StreamDeframer fed streams cut at random points. Each input
// is random bytes or a mutation of the seed corpus; each target has an oracle beyond "no throw".
import {
  Attr,
  decodeChannelData,
  decodeMessage,
  encodeChannelData,
  MAX_STREAM_FRAME,
  readAddress,
  readAddressErrorCode,
  readAddressFamily,
  readChannelNumber,
  readErrorCode,
  readEvenPort,
  readRequestedTransport,
  readReservationToken,
  readText,
  readUint32,
  readUnknownAttributes,
  readXorAddress,
  StreamDeframer,
  type StunMessage,
  verifyIntegrity,
  verifyIntegritySha256,
} from '../../src/stun/index.js';
import { type FuzzResult, FuzzTally, runFuzz } from './fuzz-result.js';
import { MutationEngine, Prng } from './mutation.js';
import { unsignedCorpus } from './seeds.js';

/** Options of the codec targets. */
export interface CodecFuzzOptions {
  /** Inputs per target. */
  inputs: number;
  seed?: number;
}

const KEY = Buffer.alloc(16, 0x5a);

/** One input: 25% random bytes, else a stacked mutation of a seed. */
function nextInput(engine: MutationEngine, corpus: readonly Buffer[]): Buffer {
  const rng = engine.rng;
  if (rng.chance(0.25)) return rng.bytes(rng.int(rng.chance(0.9) ? 200 : 1500));
  return engine.mutate(rng.pick(corpus), { corpus });
}

/** Reads every attribute the way the core would; none of these may throw. */
function readEverything(message: StunMessage): void {
  const tid = message.transactionId;
  for (const { type, value } of message.attributes) {
    switch (type) {
      case Attr.XOR_PEER_ADDRESS:
      case Attr.XOR_RELAYED_ADDRESS:
      case Attr.XOR_MAPPED_ADDRESS:
        readXorAddress(value, tid);
        break;
      case Attr.MAPPED_ADDRESS:
      case Attr.ALTERNATE_SERVER:
        readAddress(value);
        break;
      case Attr.USERNAME:
      case Attr.REALM:
      case Attr.NONCE:
      case Attr.SOFTWARE:
        readText(value, type);
        break;
      case Attr.ERROR_CODE:
        readErrorCode(value);
        break;
      case Attr.UNKNOWN_ATTRIBUTES:
        readUnknownAttributes(value);
        break;
      case Attr.LIFETIME:
        readUint32(value);
        break;
      case Attr.CHANNEL_NUMBER:
        readChannelNumber(value);
        break;
      case Attr.REQUESTED_TRANSPORT:
        readRequestedTransport(value);
        break;
      case Attr.REQUESTED_ADDRESS_FAMILY:
      case Attr.ADDITIONAL_ADDRESS_FAMILY:
        readAddressFamily(value);
        break;
      case Attr.EVEN_PORT:
        readEvenPort(value);
        break;
      case Attr.RESERVATION_TOKEN:
        readReservationToken(value);
        break;
      case Attr.ADDRESS_ERROR_CODE:
        readAddressErrorCode(value);
        break;
      default:
        break;
    }
  }
  verifyIntegrity(message, KEY);
  verifyIntegritySha256(message, KEY);
}

/** decodeMessage: never throws; what it accepts has sound bounds and decodes the same again. */
export async function fuzzDecodeMessage(options: CodecFuzzOptions): Promise<FuzzResult> {
  const engine = new MutationEngine(new Prng(options.seed ?? 1));
  const corpus = unsignedCorpus();
  const tally = new FuzzTally();
  const result = await runFuzz('codec: decodeMessage', options.inputs, tally, () => {
    const input = nextInput(engine, corpus);
    try {
      const decoded = decodeMessage(input);
      if (!decoded.ok) {
        tally.outcome(decoded.error);
        return;
      }
      tally.outcome('ok');
      const message = decoded.message;
      readEverything(message);
      for (const attr of message.attributes) {
        const start = attr.value.byteOffset - input.byteOffset;
        if (start < 20 || start + attr.value.length > input.length) {
          tally.violation(
            `attribute 0x${attr.type.toString(16)} outside the message: ${input.toString('hex')}`,
          );
        }
      }
      const again = decodeMessage(Buffer.from(input));
      if (!again.ok || again.message.attributes.length !== message.attributes.length) {
        tally.violation(`decoding is not repeatable: ${input.toString('hex')}`);
      }
    } catch (error) {
      tally.exception(error, input);
    }
  });
  result.mutations = engine.report();
  return result;
}

/** decodeChannelData: never throws; an accepted frame's data lies inside the input with the stated length. */
export async function fuzzDecodeChannelData(options: CodecFuzzOptions): Promise<FuzzResult> {
  const engine = new MutationEngine(new Prng(options.seed ?? 2));
  const corpus = unsignedCorpus().filter((b) => b.length > 0 && b[0]! >> 6 === 1);
  const all = unsignedCorpus();
  const tally = new FuzzTally();
  const result = await runFuzz('codec: decodeChannelData', options.inputs, tally, () => {
    const rng = engine.rng;
    const input = rng.chance(0.3) ? nextInput(engine, all) : engine.mutate(rng.pick(corpus), { corpus });
    try {
      const decoded = decodeChannelData(input);
      if (!decoded.ok) {
        tally.outcome(decoded.error);
        return;
      }
      tally.outcome('ok');
      if (decoded.data.length !== input.readUInt16BE(2) || decoded.data.byteOffset !== input.byteOffset + 4) {
        tally.violation(`bad ChannelData view: ${input.toString('hex')}`);
      }
    } catch (error) {
      tally.exception(error, input);
    }
  });
  result.mutations = engine.report();
  return result;
}

/**
 * StreamDeframer: streams of valid, mutated and random frames pushed in random-sized chunks. It
 * never throws, never holds more than its limit, and a stream of valid frames comes out as
 * exactly those frames whatever the cut points. One input is one pushed chunk.
 */
export async function fuzzStreamDeframer(options: CodecFuzzOptions): Promise<FuzzResult> {
  const engine = new MutationEngine(new Prng(options.seed ?? 3));
  const rng = engine.rng;
  const corpus = unsignedCorpus();
  const valid = [
    ...corpus.filter((b) => b.length > 0 && b[0]! >> 6 === 0 && decodeMessage(b).ok),
    // Over streams ChannelData is padded to a multiple of 4 (RFC 8656 section 12.5).
    encodeChannelData(0x4001, Buffer.from('abc'), true),
    encodeChannelData(0x4abc, Buffer.alloc(700, 1), true),
    encodeChannelData(0x4fff, Buffer.alloc(0), true),
  ];
  const tally = new FuzzTally();
  const result = await runFuzz('codec: StreamDeframer', options.inputs, tally, () => {
    const clean = rng.chance(0.3);
    const frames: Buffer[] = [];
    const count = 1 + rng.int(8);
    for (let i = 0; i < count; i++) {
      frames.push(
        clean
          ? rng.pick(valid)
          : rng.chance(0.2)
            ? rng.bytes(rng.int(64))
            : engine.mutate(rng.pick(corpus), { corpus }),
      );
    }
    const stream = Buffer.concat(frames);
    const deframer = new StreamDeframer({ maxBufferedBytes: rng.chance(0.5) ? 2048 : MAX_STREAM_FRAME });
    const out: Buffer[] = [];
    let pushed = 0;
    let offset = 0;
    try {
      while (offset < stream.length) {
        const size = 1 + rng.int(rng.chance(0.5) ? 8 : 300);
        const chunk = stream.subarray(offset, offset + size);
        offset += size;
        pushed++;
        for (const frame of deframer.push(chunk)) out.push(Buffer.from(frame.data));
        if (deframer.bufferedBytes > MAX_STREAM_FRAME)
          tally.violation(`holds ${deframer.bufferedBytes} bytes`);
        if (deframer.error !== null) break;
      }
      tally.outcome(deframer.error === null ? 'stream-ok' : deframer.error.code);
      if (clean) {
        const expected = frames.map((f) => (f[0]! >> 6 === 1 ? f.subarray(0, 4 + f.readUInt16BE(2)) : f));
        const same = out.length === expected.length && out.every((f, i) => f.equals(expected[i]!));
        if (deframer.error === null && !same) {
          tally.violation(`valid frames re-framed wrongly: ${stream.toString('hex').slice(0, 400)}`);
        }
      }
    } catch (error) {
      tally.exception(error, stream);
    }
    return pushed;
  });
  result.mutations = engine.report();
  return result;
}
