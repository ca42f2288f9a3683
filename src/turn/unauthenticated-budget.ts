// Reflection guard. Over UDP a source address is not proven until the client echoes a NONCE we
// sent there (RFC 8489 section 9.2; RFC 8656 section 21.1 warns that a TURN server answering
// spoofed requests is an amplifier). Every answer to a request that has not yet proved its address
// (401, 400, 420, 438, Binding) spends a token from its source's bucket; with the bucket empty the
// request is dropped unanswered, so bytes sent to any one address stay bounded whatever is spoofed.
import { randomBytes } from 'node:crypto';
import { parseIpv4, parseIpv6 } from './peer-filter/ip-address.js';

/** Settings of an UnauthenticatedBudget (see TurnLimits). */
export interface UnauthenticatedBudgetOptions {
  /** Answers a source may get at once (bucket size). */
  burst: number;
  /** Answers per second a source earns back; Infinity turns the budget off. */
  ratePerSecond: number;
  /** Buckets in the table (rounded up to a power of two). */
  slots: number;
  /** Hash seed; random by default so nobody can aim two sources at one bucket. */
  seed?: number;
}

/** Largest table accepted: 2^20 buckets, 16 MiB. */
const MAX_SLOTS = 1 << 20;

/**
 * Per-source token buckets in a fixed-size table indexed by a seeded hash of the source: bounded
 * memory whatever the number of sources, no timer (buckets refill lazily from the clock), and no
 * eviction. Sources that hash to the same bucket share it, which can only make the limit stricter:
 * an attacker spraying spoofed sources cannot empty a victim's record and start it afresh.
 * A source is an IPv4 address or an IPv6 /64 (one host may own a whole /64).
 */
export class UnauthenticatedBudget {
  readonly #burst: number;
  readonly #perMs: number;
  readonly #tokens: Float64Array;
  readonly #stamps: Float64Array;
  readonly #mask: number;
  readonly #seed: number;
  readonly #off: boolean;

  constructor(options: UnauthenticatedBudgetOptions) {
    this.#off =
      options.ratePerSecond === Number.POSITIVE_INFINITY || options.burst === Number.POSITIVE_INFINITY;
    this.#burst = options.burst;
    this.#perMs = options.ratePerSecond / 1000;
    const slots = this.#off ? 1 : tableSize(options.slots);
    this.#mask = slots - 1;
    this.#tokens = new Float64Array(slots).fill(options.burst);
    // -Infinity: a bucket never used is full.
    this.#stamps = new Float64Array(slots).fill(Number.NEGATIVE_INFINITY);
    this.#seed = (options.seed ?? randomBytes(4).readUInt32BE(0)) >>> 0;
  }

  /** Buckets in the table. */
  get slots(): number {
    return this.#tokens.length;
  }

  /** Spends one answer for `source` (an IP address text) at `now` (ms); false when its bucket is empty. */
  take(source: string, now: number): boolean {
    if (this.#off) return true;
    const slot = this.#slotOf(source);
    const last = this.#stamps[slot]!;
    let tokens = this.#tokens[slot]!;
    // A clock stepped back earns nothing; the stamp only moves forward.
    if (now > last) {
      tokens = Math.min(this.#burst, tokens + (now - last) * this.#perMs);
      this.#stamps[slot] = now;
    }
    if (tokens < 1) {
      this.#tokens[slot] = tokens;
      return false;
    }
    this.#tokens[slot] = tokens - 1;
    return true;
  }

  #slotOf(source: string): number {
    let h = this.#seed ^ 0x811c9dc5;
    const v4 = source.includes(':') ? null : parseIpv4(source);
    if (v4 !== null) {
      h = mix(h, v4);
    } else {
      const v6 = parseIpv6(source);
      if (v6 !== null && v6[0] === 0 && v6[1] === 0 && v6[2] === 0xffff) {
        h = mix(h, v6[3]); // IPv4-mapped: the same source as its IPv4 form
      } else if (v6 !== null) {
        h = mix(mix(h ^ 6, v6[0]), v6[1]);
      } else {
        for (let i = 0; i < source.length; i++) h = Math.imul(h ^ source.charCodeAt(i), 0x01000193);
      }
    }
    return finalize(h) & this.#mask;
  }
}

function tableSize(slots: number): number {
  const wanted = Math.min(Math.max(Math.ceil(slots), 1), MAX_SLOTS);
  let size = 1;
  while (size < wanted) size <<= 1;
  return size;
}

function mix(h: number, word: number): number {
  let x = h;
  for (let shift = 24; shift >= 0; shift -= 8) x = Math.imul(x ^ ((word >>> shift) & 0xff), 0x01000193);
  return x;
}

// murmur3's fmix32: spreads the low bits the mask keeps.
function finalize(h: number): number {
  let x = h >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}
