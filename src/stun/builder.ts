// Encoding STUN messages, RFC 8489 section 5 (header), 14 (attributes, padded to 4 bytes with
// zeros), 14.5 (MESSAGE-INTEGRITY) and 14.7 (FINGERPRINT, always last).
import type { TransportAddress } from './address.js';
import { encodeAddress, encodeXorAddress } from './attributes/address.js';
import { encodeAddressErrorCode, encodeErrorCode, encodeUnknownAttributes } from './attributes/error-code.js';
import { encodeText } from './attributes/text.js';
import {
  encodeAddressFamily,
  encodeChannelNumber,
  encodeEvenPort,
  encodeRequestedTransport,
  encodeUint32,
} from './attributes/turn.js';
import { Attr, HEADER_LENGTH, MAGIC_COOKIE, MAX_MESSAGE_BODY, type StunClass } from './constants.js';
import { fingerprintOf } from './fingerprint.js';
import { INTEGRITY_LENGTH, integrityHmacInto } from './integrity.js';
import type { EncodeOptions } from './message.js';
import { encodeMessageType } from './message-type.js';

const EMPTY = Buffer.alloc(0);

/** Builds a STUN message attribute by attribute. Adders throw RangeError on values no message can carry. */
export class MessageBuilder {
  private readonly attrs: { type: number; value: Buffer }[] = [];
  private bodyLength = 0;

  constructor(
    readonly cls: StunClass,
    readonly method: number,
    readonly transactionId: Buffer,
  ) {
    if (transactionId.length !== 12) throw new RangeError('transaction id must be 12 bytes');
    if (!Number.isInteger(method) || method < 0 || method > 0xfff)
      throw new RangeError(`bad method ${method}`);
  }

  /** Appends an attribute with a raw value. The value is copied at build(), not now. */
  add(type: number, value: Buffer): this {
    if (!Number.isInteger(type) || type < 0 || type > 0xffff)
      throw new RangeError(`bad attribute type ${type}`);
    if (value.length > 0xffff) throw new RangeError('attribute value longer than 65535 bytes');
    this.attrs.push({ type, value });
    this.bodyLength += 4 + ((value.length + 3) & ~3);
    return this;
  }

  /** MAPPED-ADDRESS-style attribute (MAPPED-ADDRESS, ALTERNATE-SERVER), RFC 8489 section 14.1. */
  addAddress(type: number, addr: TransportAddress): this {
    return this.add(type, encodeAddress(addr));
  }

  /** XOR-MAPPED-ADDRESS / XOR-PEER-ADDRESS / XOR-RELAYED-ADDRESS, RFC 8489 section 14.2. */
  addXorAddress(type: number, addr: TransportAddress): this {
    return this.add(type, encodeXorAddress(addr, this.transactionId));
  }

  /** UTF-8 text attribute (USERNAME, REALM, NONCE, SOFTWARE) within its length limits. */
  addText(type: number, text: string): this {
    return this.add(type, encodeText(text, type));
  }

  /** ERROR-CODE with `reason` or the recommended phrase, RFC 8489 section 14.8. */
  addErrorCode(code: number, reason?: string): this {
    return this.add(Attr.ERROR_CODE, encodeErrorCode(code, reason));
  }

  /** UNKNOWN-ATTRIBUTES, RFC 8489 section 14.13. */
  addUnknownAttributes(types: readonly number[]): this {
    return this.add(Attr.UNKNOWN_ATTRIBUTES, encodeUnknownAttributes(types));
  }

  /** 32-bit unsigned attribute (LIFETIME, PRIORITY). */
  addUint32(type: number, n: number): this {
    return this.add(type, encodeUint32(n));
  }

  /** CHANNEL-NUMBER, RFC 8656 section 18.1. */
  addChannelNumber(channel: number): this {
    return this.add(Attr.CHANNEL_NUMBER, encodeChannelNumber(channel));
  }

  /** REQUESTED-TRANSPORT, RFC 8656 section 18.7. */
  addRequestedTransport(protocol: number): this {
    return this.add(Attr.REQUESTED_TRANSPORT, encodeRequestedTransport(protocol));
  }

  /** REQUESTED-ADDRESS-FAMILY or ADDITIONAL-ADDRESS-FAMILY, RFC 8656 sections 18.8, 18.11. */
  addAddressFamily(type: number, family: TransportAddress['family'] | number): this {
    return this.add(type, encodeAddressFamily(family));
  }

  /** EVEN-PORT, RFC 8656 section 18.6. */
  addEvenPort(reserveNext: boolean): this {
    return this.add(Attr.EVEN_PORT, encodeEvenPort(reserveNext));
  }

  /** ADDRESS-ERROR-CODE, RFC 8656 section 18.13. */
  addAddressErrorCode(family: TransportAddress['family'], code: number, reason?: string): this {
    return this.add(Attr.ADDRESS_ERROR_CODE, encodeAddressErrorCode(family, code, reason));
  }

  /** An empty flag attribute (DONT-FRAGMENT, USE-CANDIDATE). */
  addFlag(type: number): this {
    return this.add(type, EMPTY);
  }

  /**
   * Encodes the message: the attributes in the order added, then MESSAGE-INTEGRITY under
   * `integrityKey` (computed with the length field ending after it, RFC 8489 section 14.5), then
   * FINGERPRINT when asked (section 14.7). Throws RangeError when the message exceeds 65535 bytes.
   */
  build(options: EncodeOptions = {}): Buffer {
    const withIntegrity = options.integrityKey !== undefined;
    const bodyLength =
      this.bodyLength + (withIntegrity ? 4 + INTEGRITY_LENGTH : 0) + (options.fingerprint ? 8 : 0);
    if (bodyLength > MAX_MESSAGE_BODY)
      throw new RangeError(`message body of ${bodyLength} bytes is too long`);
    const out = Buffer.allocUnsafe(HEADER_LENGTH + bodyLength);
    out.writeUInt16BE(encodeMessageType(this.cls, this.method), 0);
    out.writeUInt16BE(bodyLength, 2);
    out.writeUInt32BE(MAGIC_COOKIE, 4);
    this.transactionId.copy(out, 8);
    let offset = HEADER_LENGTH;
    for (const { type, value } of this.attrs) {
      out.writeUInt16BE(type, offset);
      out.writeUInt16BE(value.length, offset + 2);
      value.copy(out, offset + 4);
      const end = offset + 4 + value.length;
      offset += 4 + ((value.length + 3) & ~3);
      out.fill(0, end, offset);
    }
    if (options.integrityKey !== undefined) {
      // The MAC covers out[0..offset) only, so it can be written straight into its attribute.
      integrityHmacInto(
        'sha1',
        options.integrityKey,
        out,
        offset,
        INTEGRITY_LENGTH,
        out,
        offset + 4,
        INTEGRITY_LENGTH,
      );
      out.writeUInt16BE(Attr.MESSAGE_INTEGRITY, offset);
      out.writeUInt16BE(INTEGRITY_LENGTH, offset + 2);
      offset += 4 + INTEGRITY_LENGTH;
    }
    if (options.fingerprint) {
      out.writeUInt16BE(Attr.FINGERPRINT, offset);
      out.writeUInt16BE(4, offset + 2);
      out.writeUInt32BE(fingerprintOf(out.subarray(0, offset)), offset + 4);
    }
    return out;
  }
}
