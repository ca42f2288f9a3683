import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readAddress, readXorAddress } from '../../../src/stun/attributes/address.js';
import {
  readAddressErrorCode,
  readErrorCode,
  readUnknownAttributes,
} from '../../../src/stun/attributes/error-code.js';
import { readText } from '../../../src/stun/attributes/text.js';
import {
  readAddressFamily,
  readChannelNumber,
  readEvenPort,
  readRequestedTransport,
  readReservationToken,
  readUint32,
} from '../../../src/stun/attributes/turn.js';
import { decodeChannelData, encodeChannelData } from '../../../src/stun/channel-data.js';
import {
  Attr,
  MAGIC_COOKIE,
  type StunClass,
  UNDERSTOOD_REQUIRED_ATTRIBUTES,
} from '../../../src/stun/constants.js';
import { MAX_STREAM_FRAME, StreamDeframer } from '../../../src/stun/framing.js';
import { verifyIntegrity, verifyIntegritySha256 } from '../../../src/stun/integrity.js';
import {
  decodeMessage,
  MAX_ATTRIBUTES,
  MessageBuilder,
  type StunMessage,
} from '../../../src/stun/message.js';
import {
  SAMPLE_IPV6_RESPONSE,
  SAMPLE_LONG_TERM_REQUEST,
  SAMPLE_REQUEST,
} from '../../fixtures/stun/rfc5769.js';

const RUNS = 20_000;

// Types the builder places itself (or that change how the rest decodes) are left to the options.
const SEALING = new Set<number>([Attr.MESSAGE_INTEGRITY, Attr.MESSAGE_INTEGRITY_SHA256, Attr.FINGERPRINT]);
const attrType = fc
  .oneof(
    fc.constantFrom(...Object.values(Attr)),
    fc.integer({ min: 0, max: 0xffff }),
    fc.integer({ min: 0x7f00, max: 0x7fff }),
  )
  .filter((t) => !SEALING.has(t));
const attribute = fc.record({
  type: attrType,
  value: fc.uint8Array({ maxLength: 70 }).map((a) => Buffer.from(a)),
});
const messageSpec = fc.record({
  cls: fc.constantFrom<StunClass>(0, 1, 2, 3),
  method: fc.integer({ min: 0, max: 0xfff }),
  transactionId: fc.uint8Array({ minLength: 12, maxLength: 12 }).map((a) => Buffer.from(a)),
  attributes: fc.array(attribute, { maxLength: MAX_ATTRIBUTES - 2 }),
  key: fc.option(
    fc.uint8Array({ minLength: 1, maxLength: 32 }).map((a) => Buffer.from(a)),
    { nil: undefined },
  ),
  fingerprint: fc.boolean(),
});

/** Every typed reader over every attribute: none may throw on any value. */
function readAll(msg: StunMessage): void {
  for (const { value } of msg.attributes) {
    readAddress(value);
    readXorAddress(value, msg.transactionId);
    readText(value);
    readText(value, Attr.USERNAME);
    readErrorCode(value);
    readAddressErrorCode(value);
    readUnknownAttributes(value);
    readUint32(value);
    readChannelNumber(value);
    readRequestedTransport(value);
    readAddressFamily(value);
    readEvenPort(value);
    readReservationToken(value);
  }
  verifyIntegrity(msg, Buffer.from('key'));
  verifyIntegritySha256(msg, Buffer.from('key'));
}

function mustNotThrow(buf: Buffer): void {
  const r = decodeMessage(buf);
  expect(typeof r.ok).toBe('boolean');
  if (r.ok) readAll(r.message);
  else expect(r.error).toMatch(/^[a-z_]+$/);
  const c = decodeChannelData(buf);
  expect(typeof c.ok).toBe('boolean');
}

const valid = [SAMPLE_REQUEST, SAMPLE_IPV6_RESPONSE, SAMPLE_LONG_TERM_REQUEST];

describe('round trip', () => {
  it('decode(encode(m)) gives back m, with and without integrity and fingerprint', () => {
    fc.assert(
      fc.property(messageSpec, (spec) => {
        const builder = new MessageBuilder(spec.cls, spec.method, spec.transactionId);
        for (const a of spec.attributes) builder.add(a.type, a.value);
        const wire = builder.build({ integrityKey: spec.key, fingerprint: spec.fingerprint });
        const r = decodeMessage(wire);
        if (!r.ok) throw new Error(`${r.error}: ${r.detail}`);
        const m = r.message;
        readAll(m);
        expect(m.cls).toBe(spec.cls);
        expect(m.method).toBe(spec.method);
        expect(m.transactionId.equals(spec.transactionId)).toBe(true);
        const sealing = [
          ...(spec.key ? [Attr.MESSAGE_INTEGRITY] : []),
          ...(spec.fingerprint ? [Attr.FINGERPRINT] : []),
        ];
        expect(m.attributes.map((a) => a.type)).toEqual([...spec.attributes.map((a) => a.type), ...sealing]);
        spec.attributes.forEach((a, i) => {
          expect(m.attributes[i]!.value.equals(a.value)).toBe(true);
        });
        const unknown = [
          ...new Set(
            spec.attributes
              .map((a) => a.type)
              .filter((t) => t < 0x8000 && !UNDERSTOOD_REQUIRED_ATTRIBUTES.has(t)),
          ),
        ];
        expect(m.unknownRequired).toEqual(unknown);
        if (spec.key) {
          expect(m.integrityOffset).toBeGreaterThanOrEqual(20);
          expect(verifyIntegrity(m, spec.key)).toBe(true);
        } else {
          expect(m.integrityOffset).toBe(-1);
        }
        // Building again from the decoded message gives the same bytes.
        const again = new MessageBuilder(m.cls, m.method, m.transactionId);
        for (const a of m.attributes.slice(0, spec.attributes.length)) again.add(a.type, a.value);
        expect(again.build({ integrityKey: spec.key, fingerprint: spec.fingerprint }).equals(wire)).toBe(
          true,
        );
      }),
      { numRuns: 2000 },
    );
  });

  it('ChannelData round-trips for every channel and length', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0x4000, max: 0x4fff }),
        fc.uint8Array({ maxLength: 200 }),
        fc.boolean(),
        (channel, data, padded) => {
          const r = decodeChannelData(encodeChannelData(channel, Buffer.from(data), padded));
          expect(r.ok).toBe(true);
          if (!r.ok) return;
          expect(r.channel).toBe(channel);
          expect(r.data.equals(Buffer.from(data))).toBe(true);
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe('no input throws', () => {
  it('random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        mustNotThrow(Buffer.from(bytes));
      }),
      { numRuns: RUNS },
    );
  });

  it('random attribute sections behind a well-formed header', () => {
    // Without a valid header, random bytes rarely get past the first checks: force one.
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0x3fff }), fc.uint8Array({ maxLength: 200 }), (type, body) => {
        const len = body.length & ~3;
        const buf = Buffer.alloc(20 + len);
        buf.writeUInt16BE(type, 0);
        buf.writeUInt16BE(len, 2);
        buf.writeUInt32BE(MAGIC_COOKIE, 4);
        Buffer.from(body).copy(buf, 20, 0, len);
        mustNotThrow(buf);
      }),
      { numRuns: RUNS },
    );
  });

  it('truncated valid messages', () => {
    fc.assert(
      fc.property(fc.constantFrom(...valid), fc.nat(), fc.boolean(), (msg, n, fixLength) => {
        const cut = Buffer.from(msg.subarray(0, n % (msg.length + 1)));
        // Also with the header length patched to fit, so the attribute walk sees the cut.
        if (fixLength && cut.length >= 20) cut.writeUInt16BE(cut.length - 20, 2);
        mustNotThrow(cut);
      }),
      { numRuns: RUNS },
    );
  });

  it('bit-flipped valid messages', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...valid),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 })), { minLength: 1, maxLength: 4 }),
        (msg, flips) => {
          const buf = Buffer.from(msg);
          for (const [at, bit] of flips) {
            const i = at % buf.length;
            buf[i] = buf[i]! ^ (1 << bit);
          }
          mustNotThrow(buf);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('the deframer on random streams, random splits and mutated valid streams', () => {
    const validStream = Buffer.concat([...valid, encodeChannelData(0x4001, Buffer.from('abcde'), true)]);
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
          fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 3 }).map((edits) => {
            const b = Buffer.from(validStream);
            for (const [at, v] of edits) b[at % b.length] = v;
            return b;
          }),
        ),
        fc.array(fc.nat(), { maxLength: 6 }),
        fc.option(fc.integer({ min: 20, max: 200 }), { nil: undefined }),
        (stream, cuts, maxFrameBytes) => {
          const d = new StreamDeframer({ maxBufferedBytes: maxFrameBytes });
          const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
          let from = 0;
          let framed = 0;
          for (const to of [...points, stream.length]) {
            for (const f of d.push(stream.subarray(from, to))) {
              if (f.kind === 'stun') {
                mustNotThrow(f.data);
                framed += f.data.length;
              } else {
                expect(typeof decodeChannelData(f.data).ok).toBe('boolean');
                framed += (f.data.length + 3) & ~3;
              }
            }
            expect(d.bufferedBytes).toBeLessThanOrEqual(maxFrameBytes ?? MAX_STREAM_FRAME);
            from = to;
          }
          // Without an error, every byte is in a frame (padding included) or held for the next one.
          if (d.error === null) expect(framed + d.bufferedBytes).toBe(stream.length);
          else expect(d.bufferedBytes).toBe(0);
        },
      ),
      { numRuns: RUNS },
    );
  });
});
