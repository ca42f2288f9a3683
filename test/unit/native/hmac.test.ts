// The addon's HMAC (native/src/hmac.cc, issue 19) against node:crypto: the same bytes for any key
// (empty, a block, longer than a block: hashed first), any message split in up to three parts of
// bytes or UTF-8 text, and any slice of the digest written anywhere in `out`; clear errors for
// anything else. Then the control path's users of src/stun/hmac.ts (MESSAGE-INTEGRITY and its
// SHA-256 variant, the stateless nonce) give the same bytes whichever computes them.
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NonceFactory } from '../../../src/auth/nonce.js';
import { MessageBuilder } from '../../../src/stun/builder.js';
import { Method, StunClass } from '../../../src/stun/constants.js';
import { hmacInto, type NativeHmacInto, nativeHmacInUse, useNativeHmac } from '../../../src/stun/hmac.js';
import { integrityHmac, verifyIntegrity, verifyIntegritySha256 } from '../../../src/stun/integrity.js';
import { decodeMessage, type StunMessage } from '../../../src/stun/message.js';
import { requireNativeAddon } from '../../../src/transport/native/index.js';

const skipNative = process.env.ICEGATE_SKIP_NATIVE === '1';

function decoded(wire: Buffer): StunMessage {
  const result = decodeMessage(wire);
  if (!result.ok) throw new Error(`not STUN: ${result.detail}`);
  return result.message;
}

const part = fc.oneof(
  fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
  fc.string({ unit: 'grapheme', maxLength: 80 }),
);

describe.skipIf(skipNative)('native hmacInto (RFC 2104 over OpenSSL SHA-1 / SHA-256)', () => {
  let native: NativeHmacInto;
  beforeAll(() => {
    native = requireNativeAddon().hmacInto;
  });
  afterEach(() => useNativeHmac(null));

  it('gives node:crypto’s bytes for any key, parts and slice of the digest', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<'sha1' | 'sha256'>('sha1', 'sha256'),
        fc.uint8Array({ maxLength: 200 }),
        fc.array(part, { minLength: 1, maxLength: 3 }),
        fc.nat(40),
        fc.nat(),
        (algorithm, key, parts, offset, lengthSeed) => {
          const digest = algorithm === 'sha1' ? 20 : 32;
          const length = 1 + (lengthSeed % digest);
          const mac = createHmac(algorithm, Buffer.from(key));
          for (const p of parts) mac.update(p);
          const expected = mac.digest().subarray(0, length);
          const out = Buffer.alloc(offset + length + 5, 0xee);
          native(algorithm === 'sha1' ? 1 : 256, Buffer.from(key), out, offset, length, ...parts);
          expect(out.subarray(offset, offset + length)).toEqual(expected);
          // Nothing outside the slice changes.
          expect(out.subarray(0, offset).every((b) => b === 0xee)).toBe(true);
          expect(out.subarray(offset + length).every((b) => b === 0xee)).toBe(true);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('matches RFC 4231 test case 6 (a 131-byte key, hashed first)', () => {
    const key = Buffer.alloc(131, 0xaa);
    const out = Buffer.alloc(32);
    native(256, key, out, 0, 32, 'Test Using Larger Than Block-Size Key - Hash Key First');
    expect(out.toString('hex')).toBe('60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54');
  });

  it('hashes a part that is also the output buffer as it was before the call', () => {
    const message = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyz');
    const expected = createHmac('sha1', 'k').update(message).digest();
    native(1, Buffer.from('k'), message, 0, 20, message);
    expect(message.subarray(0, 20)).toEqual(expected);
  });

  it('refuses bad arguments with NATIVE_BAD_ARGUMENT', () => {
    const key = Buffer.from('key');
    const out = Buffer.alloc(32);
    const call =
      (...args: unknown[]) =>
      () =>
        (native as (...a: unknown[]) => void)(...args);
    for (const bad of [
      call(2, key, out, 0, 20, 'x'), // unknown algorithm
      call(1, 'key', out, 0, 20, 'x'), // key not a Buffer
      call(1, key, new Uint16Array(8), 0, 20, 'x'), // out not a Buffer
      call(1, key, out, 0, 0, 'x'), // nothing to write
      call(1, key, out, 0, 21, 'x'), // longer than SHA-1's digest
      call(256, key, out, 1, 32, 'x'), // past the end of out
      call(1, key, out, -1, 20, 'x'),
      call(1, key, out, 0.5, 20, 'x'),
      call(1, key, out, 0, 20), // no part
      call(1, key, out, 0, 20, 'a', 'b', 'c', 'd'), // four parts
      call(1, key, out, 0, 20, 7), // a part neither bytes nor text
    ]) {
      expect(bad).toThrow(expect.objectContaining({ code: 'NATIVE_BAD_ARGUMENT' }));
    }
  });

  it('is what src/stun/hmac.ts uses once installed, with the same bytes as node:crypto', () => {
    const key = Buffer.from('secret key');
    const viaCrypto = Buffer.alloc(20);
    hmacInto('sha1', key, viaCrypto, 0, 20, Buffer.from('abc'), 'déf', Buffer.from([0, 1]));
    expect(nativeHmacInUse()).toBe(false);
    useNativeHmac(native);
    expect(nativeHmacInUse()).toBe(true);
    const viaAddon = Buffer.alloc(20);
    hmacInto('sha1', key, viaAddon, 0, 20, Buffer.from('abc'), 'déf', Buffer.from([0, 1]));
    expect(viaAddon).toEqual(viaCrypto);
    // Two parts and one part too (the wrapper passes exactly the parts given).
    const two = Buffer.alloc(32);
    hmacInto('sha256', key, two, 0, 32, 'a', 'b');
    expect(two).toEqual(createHmac('sha256', key).update('ab').digest());
  });

  it('signs and checks MESSAGE-INTEGRITY and MESSAGE-INTEGRITY-SHA256 interchangeably with node:crypto', () => {
    const key = Buffer.from('0123456789abcdef');
    const build = () =>
      new MessageBuilder(StunClass.Request, Method.Allocate, Buffer.alloc(12, 7))
        .add(0x0006, Buffer.from('alice'))
        .build({ integrityKey: key, fingerprint: true });
    const signedByCrypto = build();
    useNativeHmac(native);
    const signedByAddon = build();
    expect(signedByAddon).toEqual(signedByCrypto);
    expect(verifyIntegrity(decoded(signedByCrypto), key)).toBe(true);
    expect(verifyIntegrity(decoded(signedByCrypto), Buffer.from('another key 1234'))).toBe(false);
    // A SHA-256 integrity attribute made with node:crypto, checked by the addon.
    const unsigned = new MessageBuilder(StunClass.Request, Method.Allocate, Buffer.alloc(12, 9))
      .add(0x0006, Buffer.from('bob'))
      .build();
    const withSlot = Buffer.concat([unsigned, Buffer.from([0x00, 0x1c, 0x00, 0x20]), Buffer.alloc(32)]);
    withSlot.writeUInt16BE(withSlot.length - 20, 2);
    useNativeHmac(null);
    integrityHmac('sha256', key, withSlot, unsigned.length, 32).copy(withSlot, unsigned.length + 4);
    useNativeHmac(native);
    expect(verifyIntegritySha256(decoded(withSlot), key)).toBe(true);
    withSlot[withSlot.length - 1]! ^= 1;
    expect(verifyIntegritySha256(decoded(withSlot), key)).toBe(false);
  });

  it('issues and checks nonces that the node:crypto path accepts, and the reverse', () => {
    const nonces = new NonceFactory(NonceFactory.randomKey());
    const now = Date.now();
    const byCrypto = nonces.issue('udp:127.0.0.1:5000', now);
    useNativeHmac(native);
    const byAddon = nonces.issue('udp:127.0.0.1:5000', now);
    expect(byAddon).toBe(byCrypto);
    expect(nonces.check(byCrypto, 'udp:127.0.0.1:5000', now)).toBe('ok');
    expect(nonces.check(byCrypto, 'udp:127.0.0.1:5001', now)).toBe('invalid');
    useNativeHmac(null);
    expect(nonces.check(byAddon, 'udp:127.0.0.1:5000', now)).toBe('ok');
  });
});
