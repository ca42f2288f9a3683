/** Stable codes for auth configuration and minting errors (`ICEGATE_AUTH_*`). */
export type AuthErrorCode =
  | 'ICEGATE_AUTH_NO_SECRET'
  | 'ICEGATE_AUTH_EMPTY_SECRET'
  | 'ICEGATE_AUTH_BAD_TENANT'
  | 'ICEGATE_AUTH_BAD_OPAQUE'
  | 'ICEGATE_AUTH_BAD_TTL'
  | 'ICEGATE_AUTH_BAD_TIME'
  | 'ICEGATE_AUTH_BAD_NONCE_KEY'
  | 'ICEGATE_AUTH_BAD_NONCE_LIFETIME'
  | 'ICEGATE_AUTH_BAD_SECRET_INDEX';

/** A programming or configuration error in the auth module; the message never contains a secret. */
export class AuthError extends Error {
  override readonly name = 'AuthError';
  constructor(
    readonly code: AuthErrorCode,
    message: string,
  ) {
    super(message);
  }
}
