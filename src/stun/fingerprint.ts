// FINGERPRINT, RFC 8489 section 14.7: CRC-32 (ISO-HDLC, as in zlib) of the message up to the
// attribute, XOR 0x5354554e.
import * as zlib from 'node:zlib';

/** The constant the CRC is XORed with ("STUN" in ASCII), RFC 8489 section 14.7. */
export const FINGERPRINT_XOR = 0x5354554e;

let table: Uint32Array | undefined;

function crcTable(): Uint32Array {
  if (table) return table;
  table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}

/** CRC-32 by table, for runtimes without zlib.crc32 (Node before 20.15). */
export function crc32Portable(bytes: Uint8Array): number {
  const t = crcTable();
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = t[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

type Crc32 = (data: Uint8Array) => number;
const nativeCrc32 = (zlib as { crc32?: Crc32 }).crc32;

/** CRC-32 (ISO-HDLC): zlib's native one when the runtime has it, else the table. */
export const crc32: Crc32 = typeof nativeCrc32 === 'function' ? (b) => nativeCrc32(b) >>> 0 : crc32Portable;

/** The FINGERPRINT value for `bytesBefore` (the message up to the FINGERPRINT attribute header). */
export function fingerprintOf(bytesBefore: Uint8Array): number {
  return (crc32(bytesBefore) ^ FINGERPRINT_XOR) >>> 0;
}
