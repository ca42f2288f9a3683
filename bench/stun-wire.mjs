// The few STUN/TURN wire rules the benchmark's own programs need (RFC 8489 §5-§14, RFC 8656 §12-§18):
// build a request, read a message's attributes, sign with the long-term key. Self-contained on
// purpose: the benchmark must run while src/ is being written, and must not measure icegate with
// icegate's own codec.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';

/** RFC 8489 §5: the magic cookie. */
export const MAGIC_COOKIE = 0x2112a442;

/** Methods used here (RFC 8489 §18.2, RFC 8656 §17). */
export const Method = Object.freeze({
  binding: 0x001,
  allocate: 0x003,
  refresh: 0x004,
  send: 0x006,
  data: 0x007,
  createPermission: 0x008,
  channelBind: 0x009,
});

/** Message classes as the bits they set in the message type (RFC 8489 §5). */
export const MessageClass = Object.freeze({
  request: 0x0000,
  indication: 0x0010,
  success: 0x0100,
  error: 0x0110,
});

/** Attribute types used here (RFC 8489 §18.3, RFC 8656 §18). */
export const Attr = Object.freeze({
  username: 0x0006,
  messageIntegrity: 0x0008,
  errorCode: 0x0009,
  channelNumber: 0x000c,
  lifetime: 0x000d,
  xorPeerAddress: 0x0012,
  data: 0x0013,
  realm: 0x0014,
  nonce: 0x0015,
  xorRelayedAddress: 0x0016,
  requestedTransport: 0x0019,
  xorMappedAddress: 0x0020,
  fingerprint: 0x8028,
});

/** A fresh 96-bit transaction id (RFC 8489 §5). */
export function newTransactionId() {
  return randomBytes(12);
}

/** The method of a STUN message type (RFC 8489 §5: the class bits are taken out). */
export function methodOf(type) {
  return (type & 0x000f) | ((type & 0x00e0) >> 1) | ((type & 0x3e00) >> 2);
}

/** The class bits of a STUN message type. */
export function classOf(type) {
  return type & 0x0110;
}

/** True when the first bytes look like a STUN message (RFC 8489 §5: top bits 00 and the cookie). */
export function isStun(buf) {
  return buf.length >= 20 && (buf[0] & 0xc0) === 0 && buf.readUInt32BE(4) === MAGIC_COOKIE;
}

/**
 * Reads a STUN message: type, method, class, transaction id and the attributes as a Map of type
 * to value (the first of each type). Returns null when the bytes are not a whole STUN message.
 */
export function readMessage(buf) {
  if (!isStun(buf)) return null;
  const length = buf.readUInt16BE(2);
  if (20 + length > buf.length) return null;
  const type = buf.readUInt16BE(0);
  const attrs = new Map();
  let at = 20;
  while (at + 4 <= 20 + length) {
    const attrType = buf.readUInt16BE(at);
    const attrLength = buf.readUInt16BE(at + 2);
    if (at + 4 + attrLength > 20 + length) return null;
    if (!attrs.has(attrType)) attrs.set(attrType, buf.subarray(at + 4, at + 4 + attrLength));
    at += 4 + ((attrLength + 3) & ~3);
  }
  return {
    type,
    method: methodOf(type),
    cls: classOf(type),
    transactionId: buf.subarray(8, 20),
    attrs,
  };
}

/** Encodes an IPv4 XOR-address value (RFC 8489 §14.2). */
export function xorAddressV4(address, port) {
  const value = Buffer.alloc(8);
  value[1] = 0x01;
  value.writeUInt16BE(port ^ (MAGIC_COOKIE >>> 16), 2);
  const parts = address.split('.').map(Number);
  const raw = ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0;
  value.writeUInt32BE((raw ^ MAGIC_COOKIE) >>> 0, 4);
  return value;
}

/** Decodes an IPv4 XOR-address value; null for another family. */
export function readXorAddressV4(value) {
  if (value === undefined || value.length < 8 || value[1] !== 0x01) return null;
  const port = value.readUInt16BE(2) ^ (MAGIC_COOKIE >>> 16);
  const raw = (value.readUInt32BE(4) ^ MAGIC_COOKIE) >>> 0;
  const address = `${raw >>> 24}.${(raw >>> 16) & 0xff}.${(raw >>> 8) & 0xff}.${raw & 0xff}`;
  return { address, port };
}

/** Decodes ERROR-CODE (RFC 8489 §14.8) to its number and reason phrase. */
export function readErrorCode(value) {
  if (value === undefined || value.length < 4) return null;
  return { code: (value[2] & 0x07) * 100 + value[3], reason: value.subarray(4).toString('utf8') };
}

/** The long-term credential key (RFC 8489 §9.2.2): MD5(username ":" realm ":" password). */
export function longTermKey(username, realm, password) {
  return createHash('md5').update(`${username}:${realm}:${password}`).digest();
}

/**
 * Builds a STUN message. `attrs` is a list of [type, Buffer]; with `key`, MESSAGE-INTEGRITY is
 * appended (RFC 8489 §14.5), and FINGERPRINT after it when `fingerprint` is set (§14.7).
 */
export function buildMessage(type, transactionId, attrs, { key, fingerprint = false } = {}) {
  const parts = [];
  let length = 0;
  for (const [attrType, value] of attrs) {
    const header = Buffer.alloc(4);
    header.writeUInt16BE(attrType, 0);
    header.writeUInt16BE(value.length, 2);
    const padding = (4 - (value.length % 4)) % 4;
    parts.push(header, value);
    if (padding > 0) parts.push(Buffer.alloc(padding));
    length += 4 + value.length + padding;
  }
  const head = Buffer.alloc(20);
  head.writeUInt16BE(type, 0);
  head.writeUInt32BE(MAGIC_COOKIE, 4);
  transactionId.copy(head, 8);
  let message = Buffer.concat([head, ...parts]);
  if (key !== undefined) {
    // §14.5: the length field counts MESSAGE-INTEGRITY itself when the HMAC is taken.
    message.writeUInt16BE(length + 24, 2);
    const mac = createHmac('sha1', key).update(message).digest();
    const miHeader = Buffer.from([0x00, 0x08, 0x00, 0x14]);
    message = Buffer.concat([message, miHeader, mac]);
    length += 24;
  }
  message.writeUInt16BE(length, 2);
  if (fingerprint) {
    message.writeUInt16BE(length + 8, 2);
    const fp = Buffer.alloc(8);
    fp.writeUInt16BE(Attr.fingerprint, 0);
    fp.writeUInt16BE(4, 2);
    fp.writeUInt32BE((crc32(message) ^ 0x5354554e) >>> 0, 4);
    message = Buffer.concat([message, fp]);
  }
  return message;
}

/** A 32-bit big-endian attribute value. */
export function u32(value) {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value >>> 0, 0);
  return b;
}

/** REQUESTED-TRANSPORT for UDP (RFC 8656 §18.7: protocol 17, then three reserved bytes). */
export const REQUESTED_TRANSPORT_UDP = Buffer.from([17, 0, 0, 0]);
