// Errors of license-key operations, with stable codes the CLI and the admin API report.

/** Stable codes of licensing failures (token failures have their own: TenantTokenError). */
export type LicenseErrorCode =
  /** Reissue is a support benefit: refused unless support is active or in grace (DOMAIN.md). */
  | 'support_inactive'
  /** A server identity that is empty, too long or not printable. */
  | 'invalid_server_identity'
  /** Text that is not a key id (`lk_` and 20 base32 characters). */
  | 'invalid_key_id'
  /** A malformed reissue-request field (reference, receivedAt, reason). */
  | 'invalid_request';

/** A licensing failure with a stable code. Messages never contain a key's secret. */
export class LicenseError extends Error {
  override readonly name = 'LicenseError';
  readonly code: LicenseErrorCode;

  constructor(code: LicenseErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}
