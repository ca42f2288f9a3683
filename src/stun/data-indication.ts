// The relay's per-packet encoding of a Data indication (RFC 8656 section 11.6): everything but the
// payload, so the payload reaches send() without a copy.
import type { TransportAddress } from './address.js';
import { addressValueLength, writeXorAddressValue } from './attributes/address.js';
import { Attr, HEADER_LENGTH, MAGIC_COOKIE, MAX_MESSAGE_BODY, Method, StunClass } from './constants.js';
import { encodeMessageType } from './message-type.js';
import { writeTransactionId } from './transaction-id.js';

const DATA_INDICATION_TYPE = encodeMessageType(StunClass.Indication, Method.Data);

// Index = bytes of padding; shared, read-only by convention, never written after creation.
const PADDINGS = [0, 1, 2, 3].map((n) => Buffer.alloc(n));

/** The zero bytes that pad `length` bytes to a multiple of 4 (a shared buffer: do not write to it). */
export function paddingFor(length: number): Buffer {
  return PADDINGS[(4 - (length & 3)) & 3]!;
}

/** Largest DATA payload a Data indication can carry for a peer of `family` (the message length is 16 bits). */
export function maxDataIndicationPayload(family: TransportAddress['family']): number {
  return MAX_MESSAGE_BODY - (4 + addressValueLength(family)) - 4;
}

/**
 * STUN header + XOR-PEER-ADDRESS + DATA attribute header of a Data indication from `peer` carrying
 * `payloadLength` bytes, with a fresh random transaction id. Send [parts, payload,
 * paddingFor(payloadLength)]. Throws RangeError when the payload exceeds maxDataIndicationPayload
 * or `peer` is malformed; callers drop such packets.
 */
export function dataIndicationParts(peer: TransportAddress, payloadLength: number): Buffer {
  if (
    !Number.isInteger(payloadLength) ||
    payloadLength < 0 ||
    payloadLength > maxDataIndicationPayload(peer.family)
  ) {
    throw new RangeError(`payload of ${payloadLength} bytes does not fit a Data indication`);
  }
  const addressLength = addressValueLength(peer.family);
  const parts = Buffer.allocUnsafe(HEADER_LENGTH + 4 + addressLength + 4);
  parts.writeUInt16BE(DATA_INDICATION_TYPE, 0);
  parts.writeUInt16BE(4 + addressLength + 4 + ((payloadLength + 3) & ~3), 2);
  parts.writeUInt32BE(MAGIC_COOKIE, 4);
  writeTransactionId(parts, 8);
  let offset = HEADER_LENGTH;
  parts.writeUInt16BE(Attr.XOR_PEER_ADDRESS, offset);
  parts.writeUInt16BE(addressLength, offset + 2);
  writeXorAddressValue(parts, offset + 4, peer, parts, 8);
  offset += 4 + addressLength;
  parts.writeUInt16BE(Attr.DATA, offset);
  parts.writeUInt16BE(payloadLength, offset + 2);
  return parts;
}
