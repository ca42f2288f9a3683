// MAPPED-ADDRESS (RFC 8489 section 14.1), XOR-MAPPED-ADDRESS (section 14.2) and the TURN
// XOR-PEER-ADDRESS / XOR-RELAYED-ADDRESS (RFC 8656 sections 18.3, 18.5), ALTERNATE-SERVER
// (RFC 8489 section 14.15, same format as MAPPED-ADDRESS).
import type { TransportAddress } from '../address.js';
import { Family, MAGIC_COOKIE } from '../constants.js';
import { formatIPv4, formatIPv6, parseIPv4Into, parseIPv6Into } from '../ip-text.js';

const COOKIE_HIGH = MAGIC_COOKIE >>> 16;

/** Length of an address attribute's value for a family: 8 for IPv4, 20 for IPv6. */
export function addressValueLength(family: TransportAddress['family']): number {
  return family === 'IPv4' ? 8 : 20;
}

function readFamily(value: Buffer): TransportAddress['family'] | null {
  if (value.length === 8 && value[1] === Family.IPv4) return 'IPv4';
  if (value.length === 20 && value[1] === Family.IPv6) return 'IPv6';
  return null;
}

/** Decodes a MAPPED-ADDRESS-style value; null when the length or family is wrong. */
export function readAddress(value: Buffer): TransportAddress | null {
  const family = readFamily(value);
  if (family === null) return null;
  const port = value.readUInt16BE(2);
  const address = family === 'IPv4' ? formatIPv4(value, 4) : formatIPv6(value, 4);
  return { family, address, port };
}

/**
 * Decodes an XOR-*-ADDRESS value: port XOR the cookie's high half, address XOR the cookie
 * (IPv4) or the cookie followed by the transaction id (IPv6), RFC 8489 section 14.2.
 */
export function readXorAddress(value: Buffer, transactionId: Buffer): TransportAddress | null {
  const family = readFamily(value);
  if (family === null || transactionId.length !== 12) return null;
  const port = value.readUInt16BE(2) ^ COOKIE_HIGH;
  const bytes = new Uint8Array(family === 'IPv4' ? 4 : 16);
  xorInto(value, 4, bytes, 0, bytes.length, transactionId, 0);
  const address = family === 'IPv4' ? formatIPv4(bytes, 0) : formatIPv6(bytes, 0);
  return { family, address, port };
}

/** XOR mask byte `i` of cookie || transaction id (the id at `tidOffset` of `tid`). */
function maskByte(i: number, tid: Uint8Array, tidOffset: number): number {
  return i < 4 ? (MAGIC_COOKIE >>> (24 - 8 * i)) & 0xff : tid[tidOffset + i - 4]!;
}

function xorInto(
  src: Uint8Array,
  srcOffset: number,
  dst: Uint8Array,
  dstOffset: number,
  length: number,
  tid: Uint8Array,
  tidOffset: number,
): void {
  for (let i = 0; i < length; i++) dst[dstOffset + i] = src[srcOffset + i]! ^ maskByte(i, tid, tidOffset);
}

function assertPort(port: number): void {
  if (!Number.isInteger(port) || port < 0 || port > 0xffff) throw new RangeError(`bad port ${port}`);
}

/**
 * Writes the address bytes of `addr` at `offset` (4 or 16 bytes). Throws RangeError on an address that
 * does not parse or does not match its family: that is a caller bug, not wire input.
 */
function writeAddressBytes(addr: TransportAddress, target: Uint8Array, offset: number): void {
  const ok =
    addr.family === 'IPv4'
      ? parseIPv4Into(addr.address, target, offset)
      : parseIPv6Into(addr.address, target, offset);
  if (!ok) throw new RangeError(`not an ${addr.family} address: ${addr.address}`);
}

/**
 * Writes a whole XOR-*-ADDRESS value at `offset` of `target` (8 or 20 bytes), XORed with the
 * 12-byte transaction id found at `tidOffset` of `tid` (which may be `target` itself).
 */
export function writeXorAddressValue(
  target: Buffer,
  offset: number,
  addr: TransportAddress,
  tid: Uint8Array,
  tidOffset = 0,
): void {
  assertPort(addr.port);
  const length = addr.family === 'IPv4' ? 4 : 16;
  target[offset] = 0;
  target[offset + 1] = addr.family === 'IPv4' ? Family.IPv4 : Family.IPv6;
  target.writeUInt16BE(addr.port ^ COOKIE_HIGH, offset + 2);
  writeAddressBytes(addr, target, offset + 4);
  xorInto(target, offset + 4, target, offset + 4, length, tid, tidOffset);
}

/** Encodes a MAPPED-ADDRESS-style value. Throws RangeError on a malformed address or port. */
export function encodeAddress(addr: TransportAddress): Buffer {
  assertPort(addr.port);
  const value = Buffer.alloc(addressValueLength(addr.family));
  value[1] = addr.family === 'IPv4' ? Family.IPv4 : Family.IPv6;
  value.writeUInt16BE(addr.port, 2);
  writeAddressBytes(addr, value, 4);
  return value;
}

/** Encodes an XOR-*-ADDRESS value for a message with `transactionId`. Throws RangeError on bad input. */
export function encodeXorAddress(addr: TransportAddress, transactionId: Buffer): Buffer {
  if (transactionId.length !== 12) throw new RangeError('transaction id must be 12 bytes');
  const value = Buffer.alloc(addressValueLength(addr.family));
  writeXorAddressValue(value, 0, addr, transactionId);
  return value;
}
