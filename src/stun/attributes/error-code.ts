// ERROR-CODE (RFC 8489 section 14.8), UNKNOWN-ATTRIBUTES (section 14.13) and TURN's
// ADDRESS-ERROR-CODE (RFC 8656 section 18.13).
import type { TransportAddress } from '../address.js';
import { Family } from '../constants.js';
import { encodeText, readText } from './text.js';

/** Recommended reason phrases, RFC 8489 section 14.8, RFC 8656 section 19, RFC 6062 section 6.3. */
export const REASON_PHRASES: Readonly<Record<number, string>> = {
  300: 'Try Alternate',
  400: 'Bad Request',
  401: 'Unauthenticated',
  403: 'Forbidden',
  420: 'Unknown Attribute',
  437: 'Allocation Mismatch',
  438: 'Stale Nonce',
  440: 'Address Family not Supported',
  441: 'Wrong Credentials',
  442: 'Unsupported Transport Protocol',
  443: 'Peer Address Family Mismatch',
  446: 'Connection Already Exists',
  447: 'Connection Timeout or Failure',
  486: 'Allocation Quota Reached',
  487: 'Role Conflict',
  500: 'Server Error',
  508: 'Insufficient Capacity',
};

/** A decoded ERROR-CODE. */
export interface ErrorCodeValue {
  code: number;
  reason: string;
}

function readCodeAndReason(value: Buffer): ErrorCodeValue | null {
  if (value.length < 4) return null;
  const cls = value[2]! & 0x07;
  const number = value[3]!;
  // Class 3 to 6 and number 0 to 99: codes 300 to 699, RFC 8489 section 14.8.
  if (cls < 3 || cls > 6 || number > 99) return null;
  const reason = readText(value.subarray(4));
  if (reason === null) return null;
  return { code: cls * 100 + number, reason };
}

function writeCodeAndReason(code: number, reason: string | undefined, first: number): Buffer {
  if (!Number.isInteger(code) || code < 300 || code > 699) throw new RangeError(`bad error code ${code}`);
  const text = encodeText(reason ?? REASON_PHRASES[code] ?? '');
  const value = Buffer.alloc(4 + text.length);
  value[0] = first;
  value[2] = Math.floor(code / 100);
  value[3] = code % 100;
  text.copy(value, 4);
  return value;
}

/** Decodes ERROR-CODE; null on a length under 4, a code outside 300..699 or a bad reason phrase. */
export function readErrorCode(value: Buffer): ErrorCodeValue | null {
  return readCodeAndReason(value);
}

/** Encodes ERROR-CODE with `reason`, or the recommended phrase. Throws RangeError on a code outside 300..699. */
export function encodeErrorCode(code: number, reason?: string): Buffer {
  return writeCodeAndReason(code, reason, 0);
}

/** Decodes UNKNOWN-ATTRIBUTES (a list of 16-bit types); null on an odd length. */
export function readUnknownAttributes(value: Buffer): number[] | null {
  if (value.length % 2 !== 0) return null;
  const types: number[] = [];
  for (let i = 0; i < value.length; i += 2) types.push(value.readUInt16BE(i));
  return types;
}

/** Encodes UNKNOWN-ATTRIBUTES, RFC 8489 section 14.13. */
export function encodeUnknownAttributes(types: readonly number[]): Buffer {
  const value = Buffer.alloc(types.length * 2);
  types.forEach((type, i) => {
    value.writeUInt16BE(type & 0xffff, i * 2);
  });
  return value;
}

/** A decoded ADDRESS-ERROR-CODE: the family it is about, and the error. */
export interface AddressErrorCodeValue extends ErrorCodeValue {
  family: TransportAddress['family'];
}

/** Decodes ADDRESS-ERROR-CODE, RFC 8656 section 18.13; null when malformed or of an unknown family. */
export function readAddressErrorCode(value: Buffer): AddressErrorCodeValue | null {
  if (value.length < 4) return null;
  const familyCode = value[0];
  const family = familyCode === Family.IPv4 ? 'IPv4' : familyCode === Family.IPv6 ? 'IPv6' : null;
  const error = readCodeAndReason(value);
  if (family === null || error === null) return null;
  return { family, code: error.code, reason: error.reason };
}

/** Encodes ADDRESS-ERROR-CODE, RFC 8656 section 18.13. Throws RangeError on a code outside 300..699. */
export function encodeAddressErrorCode(
  family: TransportAddress['family'],
  code: number,
  reason?: string,
): Buffer {
  return writeCodeAndReason(code, reason, family === 'IPv4' ? Family.IPv4 : Family.IPv6);
}
