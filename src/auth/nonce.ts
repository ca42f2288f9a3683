import { hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { hmacInto } from '../stun/hmac.js';
import { AuthError } from './errors.js';

/**
 * Outcome of checking a NONCE. 'stale' is an authentic nonce past its lifetime (438 with a fresh
 * nonce); 'invalid' failed its MAC: garbage, another client's, or another key's (the core picks 401
 * or, once MESSAGE-INTEGRITY has proved the key, 438).
 */
export type NonceVerdict = 'ok' | 'stale' | 'invalid';

/** Default nonce lifetime: 10 minutes (RFC 8489 section 9.2 leaves it to the server; coturn also uses 600 s). */
export const DEFAULT_NONCE_LIFETIME_MS = 600_000;
/** A nonce issued up to this far in the future (clock stepped back) still passes as fresh. */
export const NONCE_FUTURE_SKEW_MS = 5_000;

const VERSION = 1;
const TIME_BYTES = 6; // milliseconds, good until the year 10889
const MAC_BYTES = 16; // HMAC-SHA256 truncated to 128 bits
const RAW_BYTES = 1 + TIME_BYTES + MAC_BYTES;
/** Length of the nonce text: base64url of 23 bytes, unpadded. */
export const NONCE_TEXT_LENGTH = Math.ceil((RAW_BYTES * 8) / 6);
const MAX_TIME = 2 ** (TIME_BYTES * 8) - 1;
// The tag a check computes; checks are synchronous, so one is enough.
const expectedTag = Buffer.alloc(MAC_BYTES);
const MAC_LABEL = Buffer.from('icegate turn nonce v1\0', 'ascii');

/**
 * Stateless NONCEs for the long-term credential mechanism (RFC 8489 section 9.2, used by TURN per
 * RFC 8656): a nonce is `base64url(version | issue time | HMAC-SHA256(key, time, clientKey)[:16])`,
 * so checking it needs the key and the request only, and an unauthenticated request costs no
 * memory and no timer. The nonce's content is the server's choice; binding the client's transport
 * address makes a nonce observed on the wire useless from any other address.
 *
 * The text is 31 characters of [A-Za-z0-9_-], well under the NONCE limit of RFC 8489 section
 * 14.10 (fewer than 128 characters, 763 bytes). It deliberately does not start with the nonce
 * cookie "obMatJos2" of RFC 8489 section 9.2: icegate negotiates no PASSWORD-ALGORITHMS and no
 * USERHASH, so clients use the classic MD5 long-term key and nothing needs signalling.
 *
 * Key scope: `main` gives each process a random key, so a nonce issued by one node is 'invalid'
 * on another. That costs little behind anycast or a load balancer, because a 5-tuple stays on one
 * node and an allocation cannot move anyway; a client that does land elsewhere is challenged with a
 * fresh nonce and authenticates again. A fleet that wants nonces to travel can share a key, e.g.
 * `deriveNonceKey(firstSecret)`.
 */
export class NonceFactory {
  readonly #key: Buffer;

  constructor(
    key: Buffer,
    readonly lifetimeMs: number = DEFAULT_NONCE_LIFETIME_MS,
  ) {
    if (key.length < 16)
      throw new AuthError('ICEGATE_AUTH_BAD_NONCE_KEY', 'nonce key must be at least 16 bytes');
    if (!Number.isFinite(lifetimeMs) || lifetimeMs <= 0) {
      throw new AuthError('ICEGATE_AUTH_BAD_NONCE_LIFETIME', 'nonce lifetime must be a positive number');
    }
    this.#key = Buffer.from(key);
  }

  /** A fresh random 32-byte nonce key (per-process scope). */
  static randomKey(): Buffer {
    return randomBytes(32);
  }

  /** Issues a nonce bound to `clientKey` (the client's transport address text, e.g. "udp:1.2.3.4:5555"). */
  issue(clientKey: string, nowMs: number): string {
    const time = Math.floor(nowMs);
    if (!Number.isFinite(time) || time < 0 || time > MAX_TIME) {
      throw new AuthError('ICEGATE_AUTH_BAD_TIME', 'nonce time out of range');
    }
    const raw = Buffer.allocUnsafe(RAW_BYTES);
    raw.writeUInt8(VERSION, 0);
    raw.writeUIntBE(time, 1, TIME_BYTES);
    this.#mac(raw.subarray(0, 1 + TIME_BYTES), clientKey, raw, 1 + TIME_BYTES);
    return raw.toString('base64url');
  }

  /**
   * 'ok' for an authentic, fresh nonce issued to `clientKey`; 'stale' for an authentic nonce older
   * than the lifetime (or from the future beyond a small skew); 'invalid' for anything else,
   * including a nonce issued to another client or by another key.
   */
  check(nonce: string, clientKey: string, nowMs: number): NonceVerdict {
    if (nonce.length !== NONCE_TEXT_LENGTH) return 'invalid';
    const raw = Buffer.from(nonce, 'base64url');
    // Node's decoder skips foreign characters and ignores trailing bits: demand the one canonical text.
    if (raw.length !== RAW_BYTES || raw.toString('base64url') !== nonce) return 'invalid';
    if (raw.readUInt8(0) !== VERSION) return 'invalid';
    this.#mac(raw.subarray(0, 1 + TIME_BYTES), clientKey, expectedTag, 0);
    if (!timingSafeEqual(expectedTag, raw.subarray(1 + TIME_BYTES))) return 'invalid';
    const age = nowMs - raw.readUIntBE(1, TIME_BYTES);
    if (age > this.lifetimeMs || age < -NONCE_FUTURE_SKEW_MS) return 'stale';
    return 'ok';
  }

  /** HMAC-SHA256(key, label || header || clientKey), its first MAC_BYTES written at out[offset]. */
  #mac(header: Buffer, clientKey: string, out: Buffer, offset: number): void {
    hmacInto('sha256', this.#key, out, offset, MAC_BYTES, MAC_LABEL, header, clientKey);
  }
}

/** A 32-byte nonce key derived (HKDF-SHA256) from a shared secret, for fleets that share nonces. */
export function deriveNonceKey(secret: string): Buffer {
  if (secret.length === 0) throw new AuthError('ICEGATE_AUTH_EMPTY_SECRET', 'nonce key secret is empty');
  return Buffer.from(hkdfSync('sha256', Buffer.from(secret, 'utf8'), 'icegate', 'turn nonce key v1', 32));
}
