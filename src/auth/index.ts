/** TURN REST credentials, secret ring and stateless nonces (the `auth/` box of DESIGN.md). */
export {
  MAX_CREDENTIAL_TTL_SECONDS,
  type MintedCredential,
  type MintRequest,
  mintCredential,
} from './credential.js';
export { AuthError, type AuthErrorCode } from './errors.js';
export {
  DEFAULT_NONCE_LIFETIME_MS,
  deriveNonceKey,
  NONCE_FUTURE_SKEW_MS,
  NONCE_TEXT_LENGTH,
  NonceFactory,
  type NonceVerdict,
} from './nonce.js';
export {
  formatRestUsername,
  isRestUsernameExpired,
  isValidOpaque,
  isValidTenantId,
  MAX_REST_USERNAME_LENGTH,
  parseRestUsername,
  type RestUsername,
} from './rest-username.js';
export { DEFAULT_KEY_CACHE_SIZE, SecretRing } from './secret-ring.js';
