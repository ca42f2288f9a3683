// The Idempotency-Key request header of self-service reissue (draft-ietf-httpapi-idempotency-key-
// header, used as Stripe does): a client sends a fresh random value (a UUID) per reissue it means
// and the same value when it retries after an error or no answer. The value is a retry's
// credential: it is never echoed in a refusal, logged or stored (licensing keeps a hash).
import type { Request } from 'express';
import { HttpError } from './http-error.js';

/** The header's name. */
export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';
/** The longest accepted value, in characters. */
export const IDEMPOTENCY_KEY_MAX_LENGTH = 255;

// Visible ASCII (0x21-0x7e): no spaces, so two headers joined by Node (", ") are refused too.
const VALUE = new RegExp(`^[\\x21-\\x7e]{1,${IDEMPOTENCY_KEY_MAX_LENGTH}}$`);

/** The request's Idempotency-Key, or null without one; 400 invalid_request when malformed. */
export function idempotencyKeyOf(req: Request): string | null {
  const value = req.headers['idempotency-key'];
  if (value === undefined) return null;
  if (typeof value !== 'string' || !VALUE.test(value)) {
    throw new HttpError(
      'invalid_request',
      `the ${IDEMPOTENCY_KEY_HEADER} header must be 1-${IDEMPOTENCY_KEY_MAX_LENGTH} visible ASCII ` +
        'characters (send a new UUID per reissue, the same one when retrying it)',
    );
  }
  return value;
}
