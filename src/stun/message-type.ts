import type { StunClass } from './constants.js';

/**
 * The 14-bit message type interleaves the class bits C1/C0 between the method bits
 * (M11..M7 C1 M6..M4 C0 M3..M0), RFC 8489 section 5.
 */
export function encodeMessageType(cls: StunClass, method: number): number {
  return (
    (method & 0x000f) |
    ((method & 0x0070) << 1) |
    ((method & 0x0f80) << 2) |
    ((cls & 0b01) << 4) |
    ((cls & 0b10) << 7)
  );
}

/** Method of a 14-bit message type, RFC 8489 section 5. */
export function methodOf(type: number): number {
  return (type & 0x000f) | ((type & 0x00e0) >> 1) | ((type & 0x3e00) >> 2);
}

/** Class of a 14-bit message type, RFC 8489 section 5. */
export function classOf(type: number): StunClass {
  return (((type & 0x0100) >> 7) | ((type & 0x0010) >> 4)) as StunClass;
}
