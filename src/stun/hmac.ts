// The MACs of the STUN control path (issue 19): MESSAGE-INTEGRITY, MESSAGE-INTEGRITY-SHA256 and
// the stateless nonce's tag, four per authenticated Allocate. node:crypto's createHmac computes
// them by default; once the native data plane has loaded its addon it hands over the addon's
// hmacInto (useNativeHmac), which computes the same bytes with OpenSSL's hash functions alone:
// about 0.3 µs against createHmac's 2 µs, and nothing allocated (native/src/hmac.cc).
// test/unit/native/hmac.test.ts checks that both give the same bytes.
import { createHmac } from 'node:crypto';

export type HmacAlgorithm = 'sha1' | 'sha256';

/** A piece of the authenticated message: bytes, or text hashed as UTF-8. */
export type HmacPart = Buffer | string;

/** The addon's hmacInto (algorithm 1: SHA-1, 256: SHA-256; one to three parts). */
export type NativeHmacInto = (
  algorithm: 1 | 256,
  key: Buffer,
  out: Buffer,
  outOffset: number,
  outLength: number,
  ...parts: HmacPart[]
) => void;

let nativeInto: NativeHmacInto | null = null;

/** Computes the MACs with the addon's function from now on (null: node:crypto again). */
export function useNativeHmac(fn: NativeHmacInto | null): void {
  nativeInto = fn;
}

/** Whether the addon computes the MACs (test/unit/native/hmac.test.ts checks the hand-over). */
export function nativeHmacInUse(): boolean {
  return nativeInto !== null;
}

/**
 * Writes the first `outLength` bytes of HMAC(key, a || b || c) at `out[outOffset]`. `out` may
 * hold the message itself: the MAC is complete before `out` changes.
 */
export function hmacInto(
  algorithm: HmacAlgorithm,
  key: Buffer,
  out: Buffer,
  outOffset: number,
  outLength: number,
  a: HmacPart,
  b?: HmacPart,
  c?: HmacPart,
): void {
  if (nativeInto !== null) {
    const code = algorithm === 'sha1' ? 1 : 256;
    // The parts given, no trailing undefined (the addon counts its arguments).
    if (c !== undefined) nativeInto(code, key, out, outOffset, outLength, a, b ?? '', c);
    else if (b !== undefined) nativeInto(code, key, out, outOffset, outLength, a, b);
    else nativeInto(code, key, out, outOffset, outLength, a);
    return;
  }
  const mac = createHmac(algorithm, key).update(a);
  if (b !== undefined) mac.update(b);
  if (c !== undefined) mac.update(c);
  mac.digest().copy(out, outOffset, 0, outLength);
}
