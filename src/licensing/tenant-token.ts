// Verification of tenant JWTs (DESIGN.md): HS256 only, signed with the license key's secret
// used as a UTF-8 string (as `jsonwebtoken.sign(payload, secret)` does), header `kid` = key id,
// `exp` required and at most 10 minutes ahead, optional string `sub`. The tenant is the key's
// tenant, never a claim of the token.
import { createSecretKey, type KeyObject } from 'node:crypto';
import type { StoredKey } from '../entitlement/store/index.js';
import { type JwtHeader, type JwtPayload, jsonwebtoken } from './jsonwebtoken.js';
import { isKeyId } from './key-format.js';

/** Stable refusal codes of DESIGN.md for token problems. */
export type TenantTokenErrorCode = 'invalid_token' | 'token_expired' | 'unknown_license' | 'license_revoked';

/** A refused tenant token. The message says why, without the token or any secret. */
export class TenantTokenError extends Error {
  override readonly name = 'TenantTokenError';
  readonly code: TenantTokenErrorCode;
  /**
   * Set only on a `license_revoked` refusal of a token that passed every other check, and only
   * when the caller asked for it (`revealRevoked`): what the token would have verified as.
   */
  readonly revokedToken: VerifiedTenantToken | null;
  /**
   * Set on every `license_revoked` refusal of a validly signed token: which key, of which tenant,
   * for the audit trail of refusals (ids only, nothing secret).
   */
  readonly revokedKey: RevokedKeyRef | null;

  constructor(
    code: TenantTokenErrorCode,
    message: string,
    revokedToken: VerifiedTenantToken | null = null,
    revokedKey: RevokedKeyRef | null = null,
  ) {
    super(message);
    this.code = code;
    this.revokedToken = revokedToken;
    this.revokedKey = revokedKey;
  }
}

/** The revoked key a refused token was signed with. */
export interface RevokedKeyRef {
  keyId: string;
  tenant: string;
}

/** Options of `verifyTenantToken`. */
export interface VerifyTenantTokenOptions {
  /**
   * Self-service reissue only, for the retry of a reissue whose answer was lost: a token of a
   * revoked key is still refused with `license_revoked`, but when it passes every other check
   * the refusal carries it as `revokedToken`, so the route can decide a replay. Fail closed: a
   * caller that ignores it refuses the token as every other route does.
   */
  revealRevoked?: boolean;
}

/** A token that passed every check. */
export interface VerifiedTenantToken {
  tenant: string;
  keyId: string;
  /** The opaque end-user id (`sub`), or null. */
  subject: string | null;
  expiresAt: Date;
  key: StoredKey;
}

/** `exp` may be at most this far ahead (DESIGN.md: 10 minutes). */
export const MAX_TOKEN_LIFETIME_SECONDS = 600;
/** Clock skew tolerated between the desknet's NEO server and icegate, both ways. */
export const CLOCK_TOLERANCE_SECONDS = 5;
/** Longest accepted token and `sub`; a tenant JWT is small, so anything far bigger is abuse. */
const MAX_TOKEN_LENGTH = 4096;
const MAX_SUBJECT_LENGTH = 256;

// Building a KeyObject from the string costs ~35x the HMAC itself (TESTING.md), so keep one per
// key. Bounded: the oldest entries go first when it is full.
const KEY_OBJECT_CACHE_MAX = 10_000;
const keyObjects = new Map<string, { secret: string; key: KeyObject }>();

/** The HS256 KeyObject of a stored key, built once per key id and secret. */
export function secretKeyFor(key: StoredKey): KeyObject {
  const cached = keyObjects.get(key.keyId);
  if (cached !== undefined && cached.secret === key.secret) return cached.key;
  const entry = { secret: key.secret, key: createSecretKey(Buffer.from(key.secret, 'utf8')) };
  if (keyObjects.size >= KEY_OBJECT_CACHE_MAX) {
    const oldest = keyObjects.keys().next();
    if (!oldest.done) keyObjects.delete(oldest.value);
  }
  keyObjects.set(key.keyId, entry);
  return entry.key;
}

function refuse(code: TenantTokenErrorCode, message: string): TenantTokenError {
  return new TenantTokenError(code, message);
}

// Tokens whose signature verified, by their exact text: a client presents the same token for every
// request of its lifetime (at most 10 minutes), and decoding and verifying it again was the largest
// cost of a credential request after Express itself (issue 19). An entry only says "this text is
// signed by this key id with this secret, and carries this payload": every request still looks the
// key up (so a revoked or reissued key is refused at once), compares the key's current secret with
// the one that verified, and checks the time-bound claims (nbf, exp) and the rest of the claims at
// its own `now`. Bounded in count and in token length; the oldest entries go first.
const VERIFIED_CACHE_MAX = 4_096;
const VERIFIED_TOKEN_MAX_LENGTH = 1_024;

interface VerifiedSignature {
  readonly keyId: string;
  readonly secret: string;
  readonly payload: JwtPayload | string;
}

const verifiedSignatures = new Map<string, VerifiedSignature>();

function rememberSignature(token: string, entry: VerifiedSignature): void {
  if (token.length > VERIFIED_TOKEN_MAX_LENGTH) return;
  if (verifiedSignatures.size >= VERIFIED_CACHE_MAX) {
    const oldest = verifiedSignatures.keys().next();
    if (!oldest.done) verifiedSignatures.delete(oldest.value);
  }
  verifiedSignatures.set(token, entry);
}

/** Forgets every verified signature (tests). */
export function forgetVerifiedTokens(): void {
  verifiedSignatures.clear();
}

/** How many verified signatures are remembered (tests). */
export function verifiedTokenCount(): number {
  return verifiedSignatures.size;
}

/** The payload of `token` once its HS256 signature is verified with `key`, and nbf/exp hold at `nowSeconds`. */
function verifySignature(token: string, key: StoredKey, nowSeconds: number): JwtPayload | string {
  const jwt = jsonwebtoken();
  let payload: JwtPayload | string;
  try {
    payload = jwt.verify(token, secretKeyFor(key), {
      algorithms: ['HS256'],
      clockTimestamp: nowSeconds,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
    });
  } catch (err) {
    if (err instanceof jwt.TokenExpiredError) throw refuse('token_expired', 'the token has expired');
    if (err instanceof jwt.NotBeforeError) throw refuse('invalid_token', 'the token is not valid yet (nbf)');
    throw refuse('invalid_token', 'the token signature or claims are not valid');
  }
  if (typeof payload === 'object' && payload !== null) Object.freeze(payload);
  rememberSignature(token, { keyId: key.keyId, secret: key.secret, payload });
  return payload;
}

/**
 * The time checks jsonwebtoken's verify makes (with our clock tolerance), for a payload whose
 * signature verified before: `nbf` not ahead, `exp` not passed. Their types were checked then.
 */
function timeChecked(payload: JwtPayload | string, nowSeconds: number): JwtPayload | string {
  if (typeof payload !== 'object' || payload === null) return payload;
  if (typeof payload.nbf === 'number' && payload.nbf > nowSeconds + CLOCK_TOLERANCE_SECONDS) {
    throw refuse('invalid_token', 'the token is not valid yet (nbf)');
  }
  if (typeof payload.exp === 'number' && nowSeconds >= payload.exp + CLOCK_TOLERANCE_SECONDS) {
    throw refuse('token_expired', 'the token has expired');
  }
  return payload;
}

/** The key id a token names in its header, after the header checks; throws the refusal. */
function keyIdOf(token: string): string {
  let header: JwtHeader;
  try {
    const decoded = jsonwebtoken().decode(token, { complete: true });
    if (decoded === null) throw new Error('not a JWT');
    header = decoded.header;
  } catch {
    throw refuse('invalid_token', 'the token is not a well-formed JWT');
  }
  if (header.alg !== 'HS256') throw refuse('invalid_token', 'the token must be signed with HS256');
  const keyId = header.kid;
  if (typeof keyId !== 'string' || keyId.length === 0) {
    throw refuse('invalid_token', 'the token header has no kid (the license key id)');
  }
  return keyId;
}

/**
 * Verifies a tenant JWT at `now`, looking its key up by `kid`. Throws TenantTokenError:
 * `invalid_token` (malformed, not HS256, bad signature, `exp` missing or too far ahead, `iat`
 * in the future beyond the clock tolerance, bad `sub`, not yet valid), `token_expired`, `unknown_license` (no such key), `license_revoked`
 * (see `VerifyTenantTokenOptions.revealRevoked`).
 */
export async function verifyTenantToken(
  token: string,
  lookupKey: (keyId: string) => Promise<StoredKey | null>,
  now: Date = new Date(),
  options: VerifyTenantTokenOptions = {},
): Promise<VerifiedTenantToken> {
  const named = keyNamedBy(token, now);
  // A kid that cannot be a key id names no license; no need to ask the store.
  const key = isKeyId(named.keyId) ? await lookupKey(named.keyId) : null;
  return verifyWithKey(token, named, key, options);
}

/**
 * `verifyTenantToken` without waiting: `peekKey` answers from memory what `lookupKey` would
 * (LicenseKeyCache.peek), or undefined when it would have to ask the store; then this answers
 * undefined and the caller verifies with `verifyTenantToken`. The same checks in the same order,
 * the same refusals (thrown), and no promise on a warm cache (issue 19).
 */
export function verifyTenantTokenNow(
  token: string,
  peekKey: (keyId: string) => StoredKey | null | undefined,
  now: Date = new Date(),
  options: VerifyTenantTokenOptions = {},
): VerifiedTenantToken | undefined {
  const named = keyNamedBy(token, now);
  const key = isKeyId(named.keyId) ? peekKey(named.keyId) : null;
  if (key === undefined) return undefined;
  return verifyWithKey(token, named, key, options);
}

/** What a token names before its key is looked up. */
interface NamedKey {
  keyId: string;
  known: VerifiedSignature | undefined;
  nowSeconds: number;
}

/** The key id `token` names (from its remembered signature or its header); throws the refusal. */
function keyNamedBy(token: string, now: Date): NamedKey {
  if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
    throw refuse('invalid_token', 'the token is missing or too long');
  }
  const nowSeconds = Math.floor(now.getTime() / 1000);
  const known = verifiedSignatures.get(token);
  const keyId = known === undefined ? keyIdOf(token) : known.keyId;
  return { keyId, known, nowSeconds };
}

/** The checks once the key the token names is known (null: no such key); throws the refusal. */
function verifyWithKey(
  token: string,
  { keyId, known, nowSeconds }: NamedKey,
  key: StoredKey | null,
  options: VerifyTenantTokenOptions,
): VerifiedTenantToken {
  if (key === null) throw refuse('unknown_license', 'the token names a license key that does not exist');

  let payload: JwtPayload | string;
  if (known !== undefined && known.secret === key.secret) payload = timeChecked(known.payload, nowSeconds);
  else {
    // Not seen, or the key's secret is no longer the one that verified it: verify in full.
    if (known !== undefined) verifiedSignatures.delete(token);
    payload = verifySignature(token, key, nowSeconds);
  }
  // Checked after the signature, so only a holder of the key's secret learns it was revoked.
  if (key.revokedAt !== null) {
    const verified = options.revealRevoked === true ? claimsOrNull(keyId, key, payload, nowSeconds) : null;
    throw new TenantTokenError(
      'license_revoked',
      'the license key of this token has been revoked',
      verified,
      {
        keyId,
        tenant: key.tenant,
      },
    );
  }
  return checkClaims(keyId, key, payload, nowSeconds);
}

/** The verified token of a revoked key, or null when its claims would be refused anyway. */
function claimsOrNull(
  keyId: string,
  key: StoredKey,
  payload: JwtPayload | string,
  nowSeconds: number,
): VerifiedTenantToken | null {
  try {
    return checkClaims(keyId, key, payload, nowSeconds);
  } catch {
    return null;
  }
}

/** The claims checks after the signature: `exp` present and not too far ahead, `sub` a short string. */
function checkClaims(
  keyId: string,
  key: StoredKey,
  payload: JwtPayload | string,
  nowSeconds: number,
): VerifiedTenantToken {
  if (typeof payload !== 'object' || payload === null)
    throw refuse('invalid_token', 'the token payload is not an object');
  if (typeof payload.exp !== 'number') throw refuse('invalid_token', 'the token has no exp claim');
  // jsonwebtoken checks iat is a number but not that it has passed (issue 15 point 4).
  if (typeof payload.iat === 'number' && payload.iat > nowSeconds + CLOCK_TOLERANCE_SECONDS) {
    throw refuse('invalid_token', "the token's iat is in the future");
  }
  if (payload.exp > nowSeconds + MAX_TOKEN_LIFETIME_SECONDS + CLOCK_TOLERANCE_SECONDS) {
    throw refuse(
      'invalid_token',
      `the token's exp is more than ${MAX_TOKEN_LIFETIME_SECONDS / 60} minutes ahead`,
    );
  }
  const sub: unknown = payload.sub;
  if (sub !== undefined && (typeof sub !== 'string' || sub.length > MAX_SUBJECT_LENGTH)) {
    throw refuse(
      'invalid_token',
      `the token's sub must be a string of at most ${MAX_SUBJECT_LENGTH} characters`,
    );
  }
  return {
    tenant: key.tenant,
    keyId,
    subject: sub === undefined ? null : sub,
    expiresAt: new Date(payload.exp * 1000),
    key,
  };
}
