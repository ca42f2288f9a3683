// The text form of a license key, `<keyId>.<secret>` (DESIGN.md): the key id is public (it is
// the JWT `kid`), the secret is 32 random bytes, base64url, used as the HS256 secret string.
import { randomBytes } from 'node:crypto';

/** Every key id starts with this. */
export const KEY_ID_PREFIX = 'lk_';

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';
/** 20 base32 characters: 100 random bits, so ids never need a uniqueness retry in practice. */
const KEY_ID_CHARS = 20;
/** 32 bytes = 256 bits of secret (issue 3: "at least 256 bits of randomness"). */
const SECRET_BYTES = 32;

const KEY_ID = /^lk_[a-z2-7]{20}$/;
const SECRET = /^[A-Za-z0-9_-]{43}$/;

/** A fresh random key id, e.g. `lk_3mzq7c2k0...` (lowercase RFC 4648 base32 alphabet). */
export function newKeyId(): string {
  const bytes = randomBytes(KEY_ID_CHARS);
  let id = KEY_ID_PREFIX;
  // One byte per character, keeping its low 5 bits: uniform over the 32 symbols.
  for (const b of bytes) id += BASE32[b & 31];
  return id;
}

/** A fresh secret: 32 random bytes, base64url without padding (43 characters). */
export function newKeySecret(): string {
  return randomBytes(SECRET_BYTES).toString('base64url');
}

/** True for text shaped like a key id. */
export function isKeyId(text: string): boolean {
  return KEY_ID.test(text);
}

/** The license key text handed to the customer. */
export function formatLicenseKey(keyId: string, secret: string): string {
  return `${keyId}.${secret}`;
}

/** Splits a license key into id and secret, or null when it is not one (surrounding spaces ignored). */
export function parseLicenseKey(text: string): { keyId: string; secret: string } | null {
  if (typeof text !== 'string') return null;
  const trimmed = text.trim();
  const dot = trimmed.indexOf('.');
  if (dot < 0) return null;
  const keyId = trimmed.slice(0, dot);
  const secret = trimmed.slice(dot + 1);
  return KEY_ID.test(keyId) && SECRET.test(secret) ? { keyId, secret } : null;
}
