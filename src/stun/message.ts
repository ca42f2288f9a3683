// API SKELETON written by the lead: helper A implements the bodies; the signatures are the contract
// that src/turn/ codes against. Keep them (add to them if needed, tell the lead if one must change).
import type { StunClass } from './constants.js';

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

export type DecodeErrorCode =
  | 'too_short'
  | 'not_stun'
  | 'bad_magic_cookie'
  | 'bad_length'
  | 'bad_attribute_length'
  | 'bad_attribute_value'
  | 'fingerprint_not_last'
  | 'bad_fingerprint';

export type DecodeResult =
  | { ok: true; message: StunMessage }
  | { ok: false; error: DecodeErrorCode; detail: string };

/** Decodes one STUN message that fills `buf` exactly. Never throws. */
export declare function decodeMessage(buf: Buffer): DecodeResult;

/** First attribute of `type`, or undefined. */
export declare function getAttribute(msg: StunMessage, type: number): RawAttribute | undefined;

/** Options for encoding: MESSAGE-INTEGRITY with `integrityKey`, then FINGERPRINT when asked. */
export interface EncodeOptions {
  integrityKey?: Buffer;
  fingerprint?: boolean;
}

/** Builds a STUN message attribute by attribute. */
export declare class MessageBuilder {
  constructor(cls: StunClass, method: number, transactionId: Buffer);
  add(type: number, value: Buffer): this;
  build(options?: EncodeOptions): Buffer;
}
