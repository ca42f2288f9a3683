// The opaque part of minted TURN REST usernames, `<keyId>.<user>`:
// - keyId: the license key the request was signed with, so the relay can end what a revoked
//   key opened (issue 4) and an operator can tell servers apart. It is not secret (it is the
//   JWT's `kid`).
// - user: a pseudonym of the JWT's `sub`, 12 base64url characters of an HMAC under the minting
//   TURN secret, so the same end user gets the same pseudonym (for accounting) and a user id
//   (often an e-mail address) never appears in clear in usernames, logs or coturn-style
//   tools. Without `sub`, 12 random characters.
// Both parts avoid ':' (the username separator) and '.' inside a part.
import { randomBytes } from 'node:crypto';
import { BoundedLru } from '../auth/bounded-lru.js';
import type { SecretRing } from '../auth/index.js';

const SAFE_KEY_ID = /^[A-Za-z0-9_-]{1,64}$/;
const USER_LENGTH = 12;

/** The two parts of a credential's opaque username suffix. */
export interface CredentialOpaque {
  keyId: string;
  user: string;
}

/** The pseudonym of `sub` within `tenant` under the ring's minting secret. */
export function userPseudonym(ring: SecretRing, tenant: string, sub: string): string {
  // The message starts with a letter, so it can never equal a REST username (digits first).
  const mac = ring.password(`icegate-user\u0000${tenant}\u0000${sub}`);
  return mac.replaceAll('+', '-').replaceAll('/', '_').replaceAll('=', '').slice(0, USER_LENGTH);
}

/** The pseudonym of `sub` within `tenant` (userPseudonym, or a cache of it). */
export type PseudonymOf = (tenant: string, sub: string) => string;

/**
 * userPseudonym under `ring`, remembered for the last `capacity` (tenant, sub) pairs: the same end
 * user asks again and again, and the answer depends only on the pair and the ring's minting secret.
 */
export function cachedPseudonyms(ring: SecretRing, capacity = 4_096): PseudonymOf {
  const known = new BoundedLru<string, string>(capacity);
  return (tenant, sub) => {
    const id = `${tenant}\u0000${sub}`;
    let user = known.get(id);
    if (user === undefined) {
      user = userPseudonym(ring, tenant, sub);
      known.set(id, user);
    }
    return user;
  };
}

/** The opaque suffix for a credential minted from a token of `keyId`, with optional `sub`. */
export function credentialOpaque(
  ring: SecretRing,
  tenant: string,
  keyId: string,
  sub?: string,
  pseudonymOf: PseudonymOf = (t, s) => userPseudonym(ring, t, s),
): string {
  if (!SAFE_KEY_ID.test(keyId)) throw new RangeError('key id is not usable in a TURN username');
  const user =
    sub === undefined || sub === '' ? randomBytes(9).toString('base64url') : pseudonymOf(tenant, sub);
  return `${keyId}.${user}`;
}

/** Reads an opaque suffix back; null for anything this module did not mint. */
export function parseCredentialOpaque(opaque: string): CredentialOpaque | null {
  const dot = opaque.lastIndexOf('.');
  if (dot <= 0) return null;
  const keyId = opaque.slice(0, dot);
  const user = opaque.slice(dot + 1);
  if (!SAFE_KEY_ID.test(keyId) || !/^[A-Za-z0-9_-]{12}$/.test(user)) return null;
  return { keyId, user };
}
