// Maps errors of the layers below (licensing, entitlement, store, body parser) to HTTP refusals.
// Anything unknown becomes 500 internal_error; its detail goes to the log, never to the client.
import { OrderHistoryError } from '../entitlement/rules/index.js';
import { EntitlementUnavailable } from '../entitlement/service/errors.js';
import { StoreError } from '../entitlement/store/errors.js';
import { LicenseError } from '../licensing/errors.js';
import { HTTP_ERROR_CODES, HttpError, type HttpErrorCode } from './http-error.js';

const KNOWN: ReadonlySet<string> = new Set(HTTP_ERROR_CODES);

/** Error codes from below that pass through unchanged (token and store codes share our spelling). */
const PASS_THROUGH: ReadonlySet<string> = new Set<HttpErrorCode>([
  'invalid_token',
  'token_expired',
  'unknown_license',
  'license_revoked',
  'unknown_tenant',
  'unknown_key',
  'order_conflict',
  'active_key_exists',
  'support_expired',
  'support_not_started',
  'support_inactive',
  'unknown_reissue_request',
  'reissue_request_conflict',
  'reissue_request_closed',
]);

interface BodyParserError {
  type: string;
  status: number;
}

function isBodyParserError(err: unknown): err is BodyParserError & Error {
  return (
    err instanceof Error &&
    typeof (err as Partial<BodyParserError>).type === 'string' &&
    typeof (err as Partial<BodyParserError>).status === 'number'
  );
}

function isClientBodyError(err: unknown): boolean {
  const e = err as { status?: unknown; expose?: unknown } | null;
  return (
    err instanceof Error &&
    e?.expose === true &&
    typeof e.status === 'number' &&
    e.status >= 400 &&
    e.status < 500
  );
}

/** The refusal for `err`, or null when it is unexpected (answer 500 and log it). */
export function toHttpError(err: unknown): HttpError | null {
  if (err instanceof HttpError) return err;
  if (err instanceof EntitlementUnavailable) {
    return new HttpError(
      'entitlement_unavailable',
      'entitlement cannot be checked right now; retry shortly',
      {
        'Retry-After': '5',
      },
    );
  }
  if (err instanceof OrderHistoryError) return new HttpError('invalid_request', err.message);
  if (err instanceof StoreError) {
    if (err.code === 'store_unavailable' || err.code === 'store_locked') {
      return new HttpError('entitlement_unavailable', 'the entitlement store is unavailable; retry shortly', {
        'Retry-After': '5',
      });
    }
    if (PASS_THROUGH.has(err.code)) return new HttpError(err.code as HttpErrorCode, err.message);
    if (err.code === 'invalid_audit_query') return new HttpError('invalid_request', err.message);
    return null;
  }
  if (isBodyParserError(err)) return bodyParserRefusal(err);
  // A body that fails to inflate (Content-Encoding gzip with garbage) reaches us as a zlib error
  // that body-parser marked with a 4xx status but no `type`: the client's fault, not ours.
  if (isClientBodyError(err)) return new HttpError('invalid_request', 'request body could not be decoded');
  if (err instanceof LicenseError) {
    if (err.code === 'support_inactive') return new HttpError('support_inactive', err.message);
    return new HttpError('invalid_request', err.message);
  }
  const code = (err as { code?: unknown } | null)?.code;
  if (err instanceof Error && typeof code === 'string' && PASS_THROUGH.has(code) && KNOWN.has(code)) {
    return new HttpError(code as HttpErrorCode, err.message);
  }
  return null;
}

function bodyParserRefusal(err: BodyParserError & Error): HttpError | null {
  switch (err.type) {
    case 'entity.too.large':
      return new HttpError('payload_too_large', 'request body is too large');
    case 'entity.parse.failed':
      return new HttpError('invalid_request', 'request body is not valid JSON');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new HttpError('unsupported_media_type', 'request body encoding or charset is not supported');
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return new HttpError('invalid_request', 'request body could not be read');
    default:
      return err.status >= 400 && err.status < 500
        ? new HttpError('invalid_request', 'malformed request')
        : null;
  }
}
