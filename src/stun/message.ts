// STUN message decoding, RFC 8489 sections 5, 6.3 and 14. The builder lives in builder.ts and is
// re-exported here, with the transaction-id and demultiplexing helpers, so this is the one import.
import {
  Attr,
  HEADER_LENGTH,
  MAGIC_COOKIE,
  type StunClass,
  UNDERSTOOD_REQUIRED_ATTRIBUTES,
} from './constants.js';
import { fingerprintOf } from './fingerprint.js';
import { classOf, methodOf } from './message-type.js';

export { MessageBuilder } from './builder.js';
export { classify, type PacketKind } from './demux.js';
export { newTransactionId } from './transaction-id.js';

/** One attribute as it sits on the wire: `value` is a view into `raw` (no copy). */
export interface RawAttribute {
  type: number;
  value: Buffer;
  /** Offset of the attribute's 4-byte header inside the message. */
  offset: number;
}

/** A decoded STUN message, RFC 8489 section 5. */
export interface StunMessage {
  cls: StunClass;
  method: number;
  /** 12 bytes (a view into `raw`). */
  transactionId: Buffer;
  /** Attributes in wire order; those after MESSAGE-INTEGRITY other than FINGERPRINT are dropped (RFC 8489 section 14.5). */
  attributes: RawAttribute[];
  /** Comprehension-required attribute types we do not understand (for a 420 answer), RFC 8489 section 6.3.1. */
  unknownRequired: number[];
  /** Offset of the MESSAGE-INTEGRITY attribute header, or -1. */
  integrityOffset: number;
  /** The whole message as received. */
  raw: Buffer;
}

/** Why a buffer is not a well-formed STUN message. */
export type DecodeErrorCode =
  | 'too_short'
  | 'not_stun'
  | 'bad_magic_cookie'
  | 'bad_length'
  | 'bad_attribute_length'
  | 'bad_attribute_value'
  | 'too_many_attributes'
  | 'fingerprint_not_last'
  | 'bad_fingerprint';

export type DecodeResult =
  | { ok: true; message: StunMessage }
  | { ok: false; error: DecodeErrorCode; detail: string };

/** Options for encoding: MESSAGE-INTEGRITY with `integrityKey`, then FINGERPRINT when asked. */
export interface EncodeOptions {
  integrityKey?: Buffer;
  fingerprint?: boolean;
}

/** Most attributes decodeMessage walks (ignored ones included), to bound the work one packet costs. */
export const MAX_ATTRIBUTES = 64;

function fail(error: DecodeErrorCode, detail: string): DecodeResult {
  return { ok: false, error, detail };
}

function isValidSha256Length(length: number): boolean {
  return length >= 16 && length <= 32 && length % 4 === 0;
}

/**
 * Decodes one STUN message that fills `buf` exactly. Never throws. Checks the header (RFC 8489
 * section 5), every attribute length and its padding (section 14; pad bytes may hold anything),
 * MESSAGE-INTEGRITY lengths, and FINGERPRINT (last, and correct; section 14.7). Attributes after
 * MESSAGE-INTEGRITY other than MESSAGE-INTEGRITY-SHA256 and FINGERPRINT, and after
 * MESSAGE-INTEGRITY-SHA256 other than FINGERPRINT, are dropped (sections 14.5, 14.6).
 */
export function decodeMessage(buf: Buffer): DecodeResult {
  if (!Buffer.isBuffer(buf)) return fail('too_short', 'not a Buffer');
  if (buf.length < HEADER_LENGTH) return fail('too_short', `${buf.length} bytes, a header is 20`);
  if ((buf[0]! & 0xc0) !== 0) return fail('not_stun', 'the first two bits are not zero');
  if (buf.readUInt32BE(4) !== MAGIC_COOKIE) return fail('bad_magic_cookie', 'no magic cookie');
  const length = buf.readUInt16BE(2);
  if (length % 4 !== 0 || length !== buf.length - HEADER_LENGTH) {
    return fail('bad_length', `header says ${length} bytes, ${buf.length - HEADER_LENGTH} follow`);
  }
  const type = buf.readUInt16BE(0);
  const attributes: RawAttribute[] = [];
  const unknownRequired: number[] = [];
  const end = buf.length;
  let integrityOffset = -1;
  let sha256Seen = false;
  let count = 0;
  let offset = HEADER_LENGTH;
  while (offset < end) {
    if (++count > MAX_ATTRIBUTES) return fail('too_many_attributes', `more than ${MAX_ATTRIBUTES}`);
    // offset and end are multiples of 4, so the 4-byte attribute header is always there.
    const attrType = buf.readUInt16BE(offset);
    const attrLength = buf.readUInt16BE(offset + 2);
    const valueStart = offset + 4;
    const next = valueStart + ((attrLength + 3) & ~3);
    if (next > end) {
      return fail('bad_attribute_length', `attribute 0x${attrType.toString(16)} overruns the message`);
    }
    let keep = true;
    if (attrType === Attr.FINGERPRINT) {
      if (next !== end) return fail('fingerprint_not_last', 'FINGERPRINT is not the last attribute');
      if (attrLength !== 4) return fail('bad_attribute_length', 'FINGERPRINT is not 4 bytes');
      if (buf.readUInt32BE(valueStart) !== fingerprintOf(buf.subarray(0, offset))) {
        return fail('bad_fingerprint', 'FINGERPRINT does not match');
      }
    } else if (attrType === Attr.MESSAGE_INTEGRITY_SHA256 && !sha256Seen) {
      if (!isValidSha256Length(attrLength)) {
        return fail('bad_attribute_length', `MESSAGE-INTEGRITY-SHA256 of ${attrLength} bytes`);
      }
      sha256Seen = true;
    } else if (integrityOffset >= 0 || sha256Seen) {
      // Ignored, RFC 8489 sections 14.5 and 14.6: not covered by the integrity check.
      keep = false;
    } else if (attrType === Attr.MESSAGE_INTEGRITY) {
      if (attrLength !== 20) return fail('bad_attribute_length', `MESSAGE-INTEGRITY of ${attrLength} bytes`);
      integrityOffset = offset;
    } else {
      if (
        attrType < 0x8000 &&
        !UNDERSTOOD_REQUIRED_ATTRIBUTES.has(attrType) &&
        !unknownRequired.includes(attrType)
      ) {
        unknownRequired.push(attrType);
      }
    }
    if (keep) {
      attributes.push({ type: attrType, value: buf.subarray(valueStart, valueStart + attrLength), offset });
    }
    offset = next;
  }
  return {
    ok: true,
    message: {
      cls: classOf(type),
      method: methodOf(type),
      transactionId: buf.subarray(8, HEADER_LENGTH),
      attributes,
      unknownRequired,
      integrityOffset,
      raw: buf,
    },
  };
}

/** First attribute of `type`, or undefined. */
export function getAttribute(msg: StunMessage, type: number): RawAttribute | undefined {
  // Indexed: for...of allocates an iterator result per attribute until the function is optimised
  // (the first thousands of requests: about 2 % of the bytes an Allocate allocated, issue 19).
  const attributes = msg.attributes;
  for (let i = 0; i < attributes.length; i++) {
    const attr = attributes[i]!;
    if (attr.type === type) return attr;
  }
  return undefined;
}
