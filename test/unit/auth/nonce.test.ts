import { describe, expect, it } from 'vitest';
import { deriveNonceKey, NONCE_TEXT_LENGTH, NonceFactory } from '../../../src/auth/nonce.js';

const KEY = Buffer.alloc(32, 7);
const CLIENT = 'udp:198.51.100.7:5555';
const T0 = 1_700_000_000_000;

describe('NonceFactory', () => {
  const nonces = new NonceFactory(KEY);

  it('issues printable, NONCE-safe text', () => {
    const nonce = nonces.issue(CLIENT, T0);
    expect(nonce).toHaveLength(NONCE_TEXT_LENGTH);
    expect(nonce).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(Buffer.byteLength(nonce)).toBeLessThan(763);
    expect(nonce.startsWith('obMatJos2')).toBe(false);
  });

  it('is ok for ten minutes, then stale', () => {
    const nonce = nonces.issue(CLIENT, T0);
    expect(nonces.check(nonce, CLIENT, T0)).toBe('ok');
    expect(nonces.check(nonce, CLIENT, T0 + 599_999)).toBe('ok');
    expect(nonces.check(nonce, CLIENT, T0 + 600_000)).toBe('ok');
    expect(nonces.check(nonce, CLIENT, T0 + 600_001)).toBe('stale');
    expect(nonces.check(nonce, CLIENT, T0 + 86_400_000)).toBe('stale');
  });

  it('honours a custom lifetime', () => {
    const short = new NonceFactory(KEY, 1_000);
    const nonce = short.issue(CLIENT, T0);
    expect(short.check(nonce, CLIENT, T0 + 1_000)).toBe('ok');
    expect(short.check(nonce, CLIENT, T0 + 1_001)).toBe('stale');
  });

  it('tolerates a small backwards clock step but calls a nonce from the future stale', () => {
    const nonce = nonces.issue(CLIENT, T0);
    expect(nonces.check(nonce, CLIENT, T0 - 4_000)).toBe('ok');
    expect(nonces.check(nonce, CLIENT, T0 - 60_000)).toBe('stale');
  });

  it('is invalid for another client address', () => {
    const nonce = nonces.issue(CLIENT, T0);
    expect(nonces.check(nonce, 'udp:198.51.100.7:5556', T0)).toBe('invalid');
    expect(nonces.check(nonce, 'tcp:198.51.100.7:5555', T0)).toBe('invalid');
  });

  it('is invalid under another key (another process)', () => {
    const nonce = nonces.issue(CLIENT, T0);
    expect(new NonceFactory(Buffer.alloc(32, 8)).check(nonce, CLIENT, T0)).toBe('invalid');
  });

  it('is invalid when any character is changed', () => {
    const nonce = nonces.issue(CLIENT, T0);
    for (let i = 0; i < nonce.length; i++) {
      const replacement = nonce[i] === 'A' ? 'B' : 'A';
      const tampered = `${nonce.slice(0, i)}${replacement}${nonce.slice(i + 1)}`;
      expect(nonces.check(tampered, CLIENT, T0), `position ${i}`).toBe('invalid');
    }
  });

  it('is invalid even when a MAC-valid time field is stale, if the time was altered', () => {
    const nonce = nonces.issue(CLIENT, T0);
    const raw = Buffer.from(nonce, 'base64url');
    raw.writeUIntBE(T0 - 10 * 60_000, 1, 6);
    expect(nonces.check(raw.toString('base64url'), CLIENT, T0)).toBe('invalid');
  });

  it.each([
    '',
    'x',
    'obMatJos2AAAAAAAAAAAAAAAAAAAAAAA',
    '!'.repeat(NONCE_TEXT_LENGTH),
    ' '.repeat(NONCE_TEXT_LENGTH),
    'A'.repeat(NONCE_TEXT_LENGTH),
    'A'.repeat(1000),
  ])('is invalid for garbage %j', (garbage) => {
    expect(nonces.check(garbage, CLIENT, T0)).toBe('invalid');
  });

  it('refuses a non-canonical spelling of a valid nonce', () => {
    const nonce = nonces.issue(CLIENT, T0);
    // 23 bytes leave 2 unused low bits in the last character; setting them decodes to the same bytes.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(nonce.at(-1)!);
    const variant = `${nonce.slice(0, -1)}${alphabet[last ^ 1]}`;
    expect(variant).not.toBe(nonce);
    expect(Buffer.from(variant, 'base64url')).toEqual(Buffer.from(nonce, 'base64url'));
    expect(nonces.check(variant, CLIENT, T0)).toBe('invalid');
  });

  it('refuses weak keys and bad lifetimes', () => {
    expect(() => new NonceFactory(Buffer.alloc(8))).toThrow(
      expect.objectContaining({ code: 'ICEGATE_AUTH_BAD_NONCE_KEY' }),
    );
    expect(() => new NonceFactory(KEY, 0)).toThrow(
      expect.objectContaining({ code: 'ICEGATE_AUTH_BAD_NONCE_LIFETIME' }),
    );
  });

  it('does not keep a reference to the caller key buffer', () => {
    const key = Buffer.alloc(32, 1);
    const factory = new NonceFactory(key);
    const nonce = factory.issue(CLIENT, T0);
    key.fill(2);
    expect(factory.check(nonce, CLIENT, T0)).toBe('ok');
  });
});

describe('deriveNonceKey', () => {
  it('gives every node of a fleet the same key from the same secret', () => {
    const a = new NonceFactory(deriveNonceKey('north'));
    const b = new NonceFactory(deriveNonceKey('north'));
    expect(b.check(a.issue(CLIENT, T0), CLIENT, T0)).toBe('ok');
    expect(deriveNonceKey('north')).toHaveLength(32);
    expect(deriveNonceKey('north')).not.toEqual(deriveNonceKey('south'));
  });

  it('randomKey gives distinct 32-byte keys', () => {
    expect(NonceFactory.randomKey()).toHaveLength(32);
    expect(NonceFactory.randomKey()).not.toEqual(NonceFactory.randomKey());
  });
});
