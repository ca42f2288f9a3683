// TURN attributes of RFC 8656 section 18, plus the 32-bit integers shared with ICE (PRIORITY).
import type { TransportAddress } from '../address.js';
import { Family, MAX_CHANNEL, MIN_CHANNEL } from '../constants.js';

/** Reads a 32-bit unsigned value (LIFETIME, RFC 8656 section 18.2; PRIORITY, RFC 8445 section 16.1); null unless 4 bytes. */
export function readUint32(value: Buffer): number | null {
  return value.length === 4 ? value.readUInt32BE(0) : null;
}

/** Encodes a 32-bit unsigned value. Throws RangeError outside 0..2^32-1. */
export function encodeUint32(n: number): Buffer {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`not a uint32: ${n}`);
  const value = Buffer.alloc(4);
  value.writeUInt32BE(n, 0);
  return value;
}

/** Whether `channel` is a number a client may bind, 0x4000..0x4FFF, RFC 8656 section 12. */
export function isValidChannel(channel: number): boolean {
  return Number.isInteger(channel) && channel >= MIN_CHANNEL && channel <= MAX_CHANNEL;
}

/** Decodes CHANNEL-NUMBER (RFC 8656 section 18.1): the number, or null unless 4 bytes and in 0x4000..0x4FFF. */
export function readChannelNumber(value: Buffer): number | null {
  if (value.length !== 4) return null;
  const channel = value.readUInt16BE(0);
  return isValidChannel(channel) ? channel : null;
}

/** Encodes CHANNEL-NUMBER (the RFFU half is zero). Throws RangeError outside 0x4000..0x4FFF. */
export function encodeChannelNumber(channel: number): Buffer {
  if (!isValidChannel(channel)) throw new RangeError(`bad channel number ${channel}`);
  const value = Buffer.alloc(4);
  value.writeUInt16BE(channel, 0);
  return value;
}

/** Decodes REQUESTED-TRANSPORT (RFC 8656 section 18.7): the IANA protocol number, or null unless 4 bytes. */
export function readRequestedTransport(value: Buffer): number | null {
  return value.length === 4 ? value[0]! : null;
}

/** Encodes REQUESTED-TRANSPORT for an IANA protocol number (17 UDP, 6 TCP). */
export function encodeRequestedTransport(protocol: number): Buffer {
  if (!Number.isInteger(protocol) || protocol < 0 || protocol > 255) {
    throw new RangeError(`bad protocol ${protocol}`);
  }
  const value = Buffer.alloc(4);
  value[0] = protocol;
  return value;
}

/**
 * The raw family code of REQUESTED-ADDRESS-FAMILY / ADDITIONAL-ADDRESS-FAMILY (RFC 8656 sections
 * 18.8, 18.11), or null unless 4 bytes. The core answers 440 for a code it does not know.
 */
export function readAddressFamilyCode(value: Buffer): number | null {
  return value.length === 4 ? value[0]! : null;
}

/** Decodes REQUESTED-ADDRESS-FAMILY / ADDITIONAL-ADDRESS-FAMILY; null when malformed or an unknown code. */
export function readAddressFamily(value: Buffer): TransportAddress['family'] | null {
  const code = readAddressFamilyCode(value);
  if (code === Family.IPv4) return 'IPv4';
  if (code === Family.IPv6) return 'IPv6';
  return null;
}

/** Encodes REQUESTED-ADDRESS-FAMILY / ADDITIONAL-ADDRESS-FAMILY from a family or a raw code. */
export function encodeAddressFamily(family: TransportAddress['family'] | number): Buffer {
  const code = family === 'IPv4' ? Family.IPv4 : family === 'IPv6' ? Family.IPv6 : family;
  if (!Number.isInteger(code) || code < 0 || code > 255) throw new RangeError(`bad family ${family}`);
  const value = Buffer.alloc(4);
  value[0] = code;
  return value;
}

/** A decoded EVEN-PORT. */
export interface EvenPortValue {
  /** The R bit: also reserve the next higher port. */
  reserveNext: boolean;
}

/** Decodes EVEN-PORT (RFC 8656 section 18.6): one byte, R in its top bit; null otherwise. */
export function readEvenPort(value: Buffer): EvenPortValue | null {
  if (value.length !== 1) return null;
  return { reserveNext: (value[0]! & 0x80) !== 0 };
}

/** Encodes EVEN-PORT. */
export function encodeEvenPort(reserveNext: boolean): Buffer {
  return Buffer.from([reserveNext ? 0x80 : 0]);
}

/** Length of RESERVATION-TOKEN, RFC 8656 section 18.9. */
export const RESERVATION_TOKEN_LENGTH = 8;

/** Decodes RESERVATION-TOKEN: the 8-byte token (a view), or null. */
export function readReservationToken(value: Buffer): Buffer | null {
  return value.length === RESERVATION_TOKEN_LENGTH ? value : null;
}

/** Whether a flag attribute (DONT-FRAGMENT, RFC 8656 section 18.10; USE-CANDIDATE) is well formed: empty. */
export function isEmptyValue(value: Buffer): boolean {
  return value.length === 0;
}
