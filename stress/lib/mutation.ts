// A small, seeded mutation engine for STUN/TURN fuzzing: byte-level mutations (bit flips,
// interesting values, inserts, deletes, truncation), structure-aware ones (STUN and attribute
// length fields, ChannelData headers, attribute splicing, duplication and reordering), and
// re-signing so a mutated authenticated request still passes MESSAGE-INTEGRITY (RFC 8489 section
// 14.5) and reaches the handlers behind authentication. Deterministic for a given seed, so any
// finding can be replayed.
import { Attr, fingerprintOf, HEADER_LENGTH, INTEGRITY_LENGTH, integrityHmac } from '../../src/stun/index.js';

/** xoshiro128** seeded through splitmix32: fast, reproducible, good enough to pick mutations. */
export class Prng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(seed: number) {
    // splitmix32 spreads a small seed over the state.
    let s = seed >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.#a = next() | 1;
    this.#b = next();
    this.#c = next();
    this.#d = next();
  }

  /** A uniform unsigned 32-bit integer. */
  u32(): number {
    const result = Math.imul(rotl(Math.imul(this.#b, 5), 7), 9) >>> 0;
    const t = this.#b << 9;
    this.#c ^= this.#a;
    this.#d ^= this.#b;
    this.#b ^= this.#c;
    this.#a ^= this.#d;
    this.#c ^= t;
    this.#d = rotl(this.#d, 11);
    return result;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return n <= 0 ? 0 : this.u32() % n;
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.u32() < p * 0x1_0000_0000;
  }

  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  /** `n` random bytes. */
  bytes(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff;
    return out;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** Values that tend to sit on boundaries of length and type checks. */
const INTERESTING_8 = [0x00, 0x01, 0x03, 0x04, 0x40, 0x7f, 0x80, 0xc0, 0xfe, 0xff];
const INTERESTING_16 = [
  0x0000, 0x0001, 0x0003, 0x0004, 0x0008, 0x0014, 0x0018, 0x001f, 0x0020, 0x00ff, 0x0100, 0x03ff, 0x3fff,
  0x4000, 0x4fff, 0x5000, 0x7fff, 0x8000, 0xfffc, 0xffff,
];
/** Attribute types worth injecting: every one the codec and core read, plus unknown ones of both ranges. */
export const FUZZ_ATTRIBUTE_TYPES: readonly number[] = [
  ...Object.values(Attr),
  0x0002, // RESPONSE-ADDRESS (obsolete)
  0x7fff, // unknown, comprehension-required
  0xc001, // unknown, comprehension-optional
];

/** One attribute as TLV pieces. */
export interface AttributePiece {
  type: number;
  value: Buffer;
}

/** Best-effort attribute walk of a STUN message body (stops at the first overrun). */
export function splitAttributes(message: Buffer): AttributePiece[] {
  const pieces: AttributePiece[] = [];
  let offset = HEADER_LENGTH;
  while (offset + 4 <= message.length) {
    const type = message.readUInt16BE(offset);
    const length = message.readUInt16BE(offset + 2);
    const end = offset + 4 + length;
    if (end > message.length) break;
    pieces.push({ type, value: message.subarray(offset + 4, end) });
    offset += 4 + ((length + 3) & ~3);
  }
  return pieces;
}

/** Joins a 20-byte header and attributes into a message with a correct length field. */
export function joinAttributes(header: Buffer, pieces: readonly AttributePiece[]): Buffer {
  let size = HEADER_LENGTH;
  for (const p of pieces) size += 4 + ((p.value.length + 3) & ~3);
  const out = Buffer.alloc(size);
  header.copy(out, 0, 0, HEADER_LENGTH);
  out.writeUInt16BE((size - HEADER_LENGTH) & 0xffff, 2);
  let offset = HEADER_LENGTH;
  for (const p of pieces) {
    out.writeUInt16BE(p.type & 0xffff, offset);
    out.writeUInt16BE(p.value.length & 0xffff, offset + 2);
    p.value.copy(out, offset + 4);
    offset += 4 + ((p.value.length + 3) & ~3);
  }
  return out;
}

/**
 * Recomputes MESSAGE-INTEGRITY under `key` (and FINGERPRINT, when it directly follows) of a
 * message whose attribute walk is sound; returns the input unchanged otherwise. This is what lets
 * a mutated attribute reach the handlers: the server sees a correctly signed request.
 */
export function resign(message: Buffer, key: Buffer): Buffer {
  if (message.length < HEADER_LENGTH) return message;
  let offset = HEADER_LENGTH;
  let integrityAt = -1;
  while (offset + 4 <= message.length) {
    const type = message.readUInt16BE(offset);
    const length = message.readUInt16BE(offset + 2);
    const next = offset + 4 + ((length + 3) & ~3);
    if (next > message.length) return message;
    if (type === Attr.MESSAGE_INTEGRITY && length === INTEGRITY_LENGTH) {
      integrityAt = offset;
      break;
    }
    offset = next;
  }
  if (integrityAt < 0) return message;
  const out = Buffer.from(message);
  integrityHmac('sha1', key, out, integrityAt, INTEGRITY_LENGTH).copy(out, integrityAt + 4);
  const fingerprintAt = integrityAt + 4 + INTEGRITY_LENGTH;
  if (
    fingerprintAt + 8 <= out.length &&
    out.readUInt16BE(fingerprintAt) === Attr.FINGERPRINT &&
    out.readUInt16BE(fingerprintAt + 2) === 4
  ) {
    const saved = out.readUInt16BE(2);
    out.writeUInt16BE(fingerprintAt + 8 - HEADER_LENGTH, 2);
    out.writeUInt32BE(fingerprintOf(out.subarray(0, fingerprintAt)), fingerprintAt + 4);
    out.writeUInt16BE(saved, 2);
  }
  return out;
}

/** Sets the STUN length field to what follows the header (rounded down to a multiple of 4). */
export function fixStunLength(message: Buffer): Buffer {
  if (message.length < HEADER_LENGTH) return message;
  const out = Buffer.from(message.subarray(0, HEADER_LENGTH + ((message.length - HEADER_LENGTH) & ~3)));
  out.writeUInt16BE((out.length - HEADER_LENGTH) & 0xffff, 2);
  return out;
}

/** The mutation operators, by name (the fuzz report counts how often each ran). */
export const MUTATORS = [
  'bit-flip',
  'interesting-byte',
  'interesting-u16',
  'random-bytes',
  'insert',
  'delete',
  'truncate',
  'stun-length',
  'attribute-length',
  'attribute-value',
  'attribute-type',
  'splice-attribute',
  'duplicate-attribute',
  'reorder-attributes',
  'drop-attribute',
  'append-after-integrity',
  'channel-data-header',
] as const;
/** A mutator name. */
export type Mutator = (typeof MUTATORS)[number];

/** Options of Mutator engine calls. */
export interface MutateOptions {
  /** Other inputs to splice attributes from. */
  corpus: readonly Buffer[];
  /** How many stacked mutations at most (default 4). */
  maxStack?: number;
}

/** A mutation engine over a seeded Prng. */
export class MutationEngine {
  readonly counts: Record<Mutator, number> = Object.fromEntries(MUTATORS.map((m) => [m, 0])) as Record<
    Mutator,
    number
  >;

  /** Calls of mutateSigned. */
  signed = 0;

  constructor(readonly rng: Prng) {}

  /** Operator counts, re-signed mutations included. */
  report(): Record<string, number> {
    return { ...this.counts, 're-signed attribute edits': this.signed };
  }

  /** 1..maxStack stacked mutations of `input` (never modifies it). */
  mutate(input: Buffer, options: MutateOptions): Buffer {
    const stack = 1 + this.rng.int(options.maxStack ?? 4);
    let data = input;
    for (let i = 0; i < stack; i++) data = this.once(data, options.corpus);
    return data;
  }

  /** One mutation, chosen at random. */
  once(input: Buffer, corpus: readonly Buffer[]): Buffer {
    const rng = this.rng;
    const name = rng.pick(MUTATORS);
    this.counts[name]++;
    const data = Buffer.from(input);
    switch (name) {
      case 'bit-flip': {
        if (data.length === 0) return data;
        const flips = 1 + rng.int(8);
        for (let i = 0; i < flips; i++) {
          const at = rng.int(data.length);
          data[at] = data[at]! ^ (1 << rng.int(8));
        }
        return data;
      }
      case 'interesting-byte':
        if (data.length > 0) data[rng.int(data.length)] = rng.pick(INTERESTING_8);
        return data;
      case 'interesting-u16':
        if (data.length >= 2) data.writeUInt16BE(rng.pick(INTERESTING_16), rng.int(data.length - 1));
        return data;
      case 'random-bytes': {
        if (data.length === 0) return data;
        const at = rng.int(data.length);
        rng.bytes(Math.min(1 + rng.int(8), data.length - at)).copy(data, at);
        return data;
      }
      case 'insert': {
        const at = rng.int(data.length + 1);
        const chunk = rng.chance(0.5) ? rng.bytes(1 + rng.int(16)) : Buffer.alloc(4 * (1 + rng.int(4)));
        return Buffer.concat([data.subarray(0, at), chunk, data.subarray(at)]);
      }
      case 'delete': {
        if (data.length === 0) return data;
        const at = rng.int(data.length);
        const n = 1 + rng.int(Math.min(16, data.length - at));
        return Buffer.concat([data.subarray(0, at), data.subarray(at + n)]);
      }
      case 'truncate':
        return data.subarray(0, rng.int(data.length + 1));
      case 'stun-length':
        if (data.length >= 4) {
          const choices = [data.length - HEADER_LENGTH, rng.int(0x10000), 0, 0xffff, data.length, 4];
          data.writeUInt16BE(rng.pick(choices) & 0xffff, 2);
        }
        return data;
      case 'attribute-length':
        return this.#editAttribute(data, (piece, header) => {
          const values = [0, 1, 3, 4, 0xffff, piece.value.length + 4, Math.max(piece.value.length - 1, 0)];
          header.writeUInt16BE(rng.pick(values) & 0xffff, 2);
        });
      case 'attribute-value':
        return this.#editAttribute(data, (piece) => {
          if (piece.value.length > 0) piece.value[rng.int(piece.value.length)] = rng.u32() & 0xff;
        });
      case 'attribute-type':
        return this.#editAttribute(data, (_piece, header) => {
          header.writeUInt16BE(rng.pick(FUZZ_ATTRIBUTE_TYPES), 0);
        });
      case 'splice-attribute': {
        const donor = corpus.length === 0 ? [] : splitAttributes(rng.pick(corpus));
        const pieces = splitAttributes(data);
        const extra =
          donor.length > 0 && rng.chance(0.7)
            ? { type: rng.pick(donor).type, value: Buffer.from(rng.pick(donor).value) }
            : { type: rng.pick(FUZZ_ATTRIBUTE_TYPES), value: rng.bytes(rng.pick([0, 1, 4, 8, 12, 20, 24])) };
        pieces.splice(rng.int(pieces.length + 1), 0, extra);
        return data.length >= HEADER_LENGTH ? joinAttributes(data, pieces) : data;
      }
      case 'duplicate-attribute': {
        const pieces = splitAttributes(data);
        if (pieces.length === 0 || data.length < HEADER_LENGTH) return data;
        pieces.splice(rng.int(pieces.length + 1), 0, rng.pick(pieces));
        return joinAttributes(data, pieces);
      }
      case 'reorder-attributes': {
        const pieces = splitAttributes(data);
        if (pieces.length < 2) return data;
        const i = rng.int(pieces.length);
        const j = rng.int(pieces.length);
        [pieces[i], pieces[j]] = [pieces[j]!, pieces[i]!];
        return joinAttributes(data, pieces);
      }
      case 'drop-attribute': {
        const pieces = splitAttributes(data);
        if (pieces.length === 0) return data;
        pieces.splice(rng.int(pieces.length), 1);
        return joinAttributes(data, pieces);
      }
      case 'append-after-integrity': {
        // Attributes after MESSAGE-INTEGRITY must be ignored (RFC 8489 section 14.5).
        const pieces = splitAttributes(data);
        const at = pieces.findIndex((p) => p.type === Attr.MESSAGE_INTEGRITY);
        if (at < 0) return data;
        pieces.splice(at + 1, 0, {
          type: rng.pick(FUZZ_ATTRIBUTE_TYPES),
          value: rng.bytes(rng.pick([0, 4, 8, 20])),
        });
        return joinAttributes(data, pieces);
      }
      case 'channel-data-header':
        if (data.length >= 4) {
          data.writeUInt16BE(rng.chance(0.7) ? 0x4000 + rng.int(0x1000) : rng.int(0x10000), 0);
          data.writeUInt16BE(rng.chance(0.5) ? Math.max(data.length - 4, 0) : rng.pick(INTERESTING_16), 2);
        }
        return data;
    }
  }

  /**
   * A mutation of a signed request that stays signed: the attributes before MESSAGE-INTEGRITY are
   * edited as a list (values, lengths, types, splices from `corpus`, duplicates, drops, reorders;
   * USERNAME, REALM and NONCE are spared most of the time so authentication passes), then
   * MESSAGE-INTEGRITY and FINGERPRINT are recomputed under `key`; sometimes attributes are added
   * after MESSAGE-INTEGRITY, which the server must ignore.
   */
  mutateSigned(seed: Buffer, key: Buffer, corpus: readonly Buffer[]): Buffer {
    const rng = this.rng;
    this.signed++;
    const all = splitAttributes(seed);
    const integrityAt = all.findIndex((p) => p.type === Attr.MESSAGE_INTEGRITY);
    if (seed.length < HEADER_LENGTH || integrityAt < 0) return this.mutate(seed, { corpus });
    const pieces = all.slice(0, integrityAt).map((p) => ({ type: p.type, value: Buffer.from(p.value) }));
    const editable = (): number[] => {
      const spare = rng.chance(0.85);
      return pieces
        .map((p, i) =>
          spare && (p.type === Attr.USERNAME || p.type === Attr.REALM || p.type === Attr.NONCE) ? -1 : i,
        )
        .filter((i) => i >= 0);
    };
    const edits = 1 + rng.int(2);
    for (let e = 0; e < edits; e++) {
      const choices = editable();
      const at = choices.length > 0 ? rng.pick(choices) : -1;
      const piece = at >= 0 ? pieces[at]! : null;
      switch (rng.int(9)) {
        case 0:
          if (piece !== null && piece.value.length > 0) {
            const i = rng.int(piece.value.length);
            piece.value[i] = piece.value[i]! ^ (1 << rng.int(8));
          }
          break;
        case 1:
          if (piece !== null && piece.value.length > 0)
            piece.value[rng.int(piece.value.length)] = rng.pick(INTERESTING_8);
          break;
        case 2:
          if (piece !== null) piece.value = piece.value.subarray(0, rng.int(piece.value.length + 1));
          break;
        case 3:
          if (piece !== null) piece.value = Buffer.concat([piece.value, rng.bytes(1 + rng.int(8))]);
          break;
        case 4:
          if (piece !== null) piece.type = rng.pick(FUZZ_ATTRIBUTE_TYPES);
          break;
        case 5: {
          const donor = splitAttributes(rng.pick(corpus)).filter((p) => p.type !== Attr.MESSAGE_INTEGRITY);
          const extra =
            donor.length > 0
              ? rng.pick(donor)
              : { type: rng.pick(FUZZ_ATTRIBUTE_TYPES), value: rng.bytes(8) };
          pieces.splice(rng.int(pieces.length + 1), 0, { type: extra.type, value: Buffer.from(extra.value) });
          break;
        }
        case 6:
          if (piece !== null)
            pieces.splice(rng.int(pieces.length + 1), 0, {
              type: piece.type,
              value: Buffer.from(piece.value),
            });
          break;
        case 7:
          if (at >= 0) pieces.splice(at, 1);
          break;
        default: {
          const j = rng.int(pieces.length);
          if (at >= 0 && j !== at) [pieces[at], pieces[j]] = [pieces[j]!, pieces[at]!];
        }
      }
    }
    const trailer: AttributePiece[] = [
      { type: Attr.MESSAGE_INTEGRITY, value: Buffer.alloc(INTEGRITY_LENGTH) },
    ];
    if (rng.chance(0.1))
      trailer.push({ type: rng.pick(FUZZ_ATTRIBUTE_TYPES), value: rng.bytes(rng.pick([0, 4, 8])) });
    else if (rng.chance(0.8)) trailer.push({ type: Attr.FINGERPRINT, value: Buffer.alloc(4) });
    // A fresh transaction id, mostly: the server answers a repeated one from its cache (RFC 8489
    // section 6.3.1) without looking at the attributes again.
    const header = Buffer.from(seed.subarray(0, HEADER_LENGTH));
    if (rng.chance(0.9)) rng.bytes(12).copy(header, 8);
    return resign(joinAttributes(header, [...pieces, ...trailer]), key);
  }

  /** Edits one attribute's header or value in place (on a copy). */
  #editAttribute(data: Buffer, edit: (piece: AttributePiece, header: Buffer) => void): Buffer {
    const offsets: number[] = [];
    let offset = HEADER_LENGTH;
    while (offset + 4 <= data.length) {
      offsets.push(offset);
      const length = data.readUInt16BE(offset + 2);
      offset += 4 + ((length + 3) & ~3);
    }
    if (offsets.length === 0) return data;
    const at = this.rng.pick(offsets);
    const length = data.readUInt16BE(at + 2);
    const header = data.subarray(at, at + 4);
    const value = data.subarray(at + 4, Math.min(at + 4 + length, data.length));
    edit({ type: header.readUInt16BE(0), value }, header);
    return data;
  }
}
