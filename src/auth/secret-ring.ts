import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { BoundedLru } from './bounded-lru.js';
import { AuthError } from './errors.js';

/** Default bound of the per-username long-term key cache. */
export const DEFAULT_KEY_CACHE_SIZE = 10_000;

/** Length of base64(HMAC-SHA1(...)): 20 bytes -> 28 characters. */
const PASSWORD_LENGTH = 28;

/**
 * The shared secrets of TURN REST credentials (`TURN_SECRETS`, coturn `static-auth-secret`).
 * The first secret mints; every secret verifies, so a rotation prepends the new secret, waits
 * for the longest credential lifetime, then drops the old one.
 */
export class SecretRing {
  readonly #secrets: readonly Buffer[];
  readonly #keyCache: BoundedLru<string, Buffer[]>;

  constructor(secrets: readonly string[], keyCacheSize = DEFAULT_KEY_CACHE_SIZE) {
    if (secrets.length === 0)
      throw new AuthError('ICEGATE_AUTH_NO_SECRET', 'at least one secret is required');
    secrets.forEach((secret, i) => {
      if (secret.length === 0) {
        throw new AuthError('ICEGATE_AUTH_EMPTY_SECRET', `secret #${i + 1} is empty`);
      }
    });
    this.#secrets = secrets.map((s) => Buffer.from(s, 'utf8'));
    this.#keyCache = new BoundedLru(keyCacheSize);
  }

  /** How many secrets verify (the first of them mints). */
  get size(): number {
    return this.#secrets.length;
  }

  /** Entries in the long-term key cache (for tests and metrics). */
  get cachedKeyCount(): number {
    return this.#keyCache.size;
  }

  /** The REST password for `username`: base64(HMAC-SHA1(secret, username)), draft-uberti section 2.2. */
  password(username: string, index = 0): string {
    const secret = this.#secrets[index];
    if (secret === undefined) {
      throw new AuthError('ICEGATE_AUTH_BAD_SECRET_INDEX', `no secret at index ${index}`);
    }
    return restPassword(secret, username);
  }

  /**
   * The long-term credential keys for `username`, one per secret in ring order:
   * MD5(username ":" realm ":" password), RFC 8489 section 9.2.2. The core tries each against
   * MESSAGE-INTEGRITY. Results are cached per (realm, username) in a bounded LRU; the returned
   * array and buffers are shared, so callers must not mutate them. Callers should parse and
   * expiry-check the username first, so junk usernames do not evict real ones.
   */
  longTermKeys(username: string, realm: string): Buffer[] {
    const cacheKey = `${realm.length}:${realm}:${username}`;
    const cached = this.#keyCache.get(cacheKey);
    if (cached !== undefined) return cached;
    const keys = this.#secrets.map((secret) =>
      createHash('md5')
        .update(`${username}:${realm}:${restPassword(secret, username)}`, 'utf8')
        .digest(),
    );
    this.#keyCache.set(cacheKey, keys);
    return keys;
  }

  /**
   * Whether `password` is the REST password of `username` under any secret. Every secret is
   * compared, with timingSafeEqual over equal-length buffers, so the time taken reveals neither
   * which secret matched nor how much of the password was right.
   */
  verifyPassword(username: string, password: string): boolean {
    const given = Buffer.from(password, 'utf8');
    const lengthOk = given.length === PASSWORD_LENGTH;
    // A wrong-length guess is swapped for zeroes of the right length, so the loop does the same work.
    const candidate = lengthOk ? given : Buffer.alloc(PASSWORD_LENGTH);
    let matched = 0;
    for (const secret of this.#secrets) {
      const expected = Buffer.from(restPassword(secret, username), 'ascii');
      matched |= timingSafeEqual(candidate, expected) ? 1 : 0;
    }
    return lengthOk && matched === 1;
  }
}

function restPassword(secret: Buffer, username: string): string {
  return createHmac('sha1', secret).update(username, 'utf8').digest('base64');
}
