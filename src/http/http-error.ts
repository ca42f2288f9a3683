// The JSON refusals of the HTTP API: `{"error": CODE, "message": …}` with a stable code
// (DESIGN.md "External contracts"), never a stack trace or an HTML page.

/** Every `error` code the HTTP API answers with. */
export const HTTP_ERROR_CODES = [
  // DESIGN.md refusal codes of the credential endpoint
  'invalid_token',
  'token_expired',
  'unknown_license',
  'license_revoked',
  'support_expired',
  'support_not_started',
  'rate_limited',
  'entitlement_unavailable',
  // request problems
  'invalid_request',
  'not_found',
  'payload_too_large',
  'unsupported_media_type',
  // admin API
  'forbidden',
  'unknown_tenant',
  'unknown_key',
  'order_conflict',
  'active_key_exists',
  'support_inactive',
  // reissue-request queue
  'unknown_reissue_request',
  'reissue_request_conflict',
  'reissue_request_closed',
  // anything else
  'internal_error',
] as const;

/** A stable error code of the HTTP API. */
export type HttpErrorCode = (typeof HTTP_ERROR_CODES)[number];

/** The status each code is answered with. */
export const STATUS_OF: Readonly<Record<HttpErrorCode, number>> = {
  invalid_token: 401,
  token_expired: 401,
  unknown_license: 401,
  license_revoked: 401,
  support_expired: 403,
  support_not_started: 403,
  rate_limited: 429,
  entitlement_unavailable: 503,
  invalid_request: 400,
  not_found: 404,
  payload_too_large: 413,
  unsupported_media_type: 415,
  forbidden: 403,
  unknown_tenant: 404,
  unknown_key: 404,
  order_conflict: 409,
  active_key_exists: 409,
  support_inactive: 403,
  unknown_reissue_request: 404,
  reissue_request_conflict: 409,
  reissue_request_closed: 409,
  internal_error: 500,
};

/** A refusal to answer with `{error, message}` and the code's status. */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  readonly status: number;

  constructor(
    readonly code: HttpErrorCode,
    message: string,
    /** Extra response headers, e.g. Retry-After. */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.status = STATUS_OF[code];
  }
}

/** The JSON body of every refusal. */
export interface ErrorBody {
  error: HttpErrorCode;
  message: string;
}
