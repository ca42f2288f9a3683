// The identity of one self-service reissue request, for retries (the Idempotency-Key pattern of
// draft-ietf-httpapi-idempotency-key-header, as Stripe uses it). A client sends a fresh random
// value per reissue it means and the same value when it retries after an error or no answer.
// The store keeps only a hash of it, bound to the tenant, with the key that request created:
// the value itself is as good as a password for the retry and is never stored or logged.
import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * How long after a reissue its retry may still be answered with the key it created (24 hours,
 * as Stripe keeps idempotency keys). A client that has not got its answer by then uses the admin
 * path (the vendor reissues for a customer who no longer has a working key).
 */
export const REISSUE_REPLAY_WINDOW_MS = 24 * 60 * 60 * 1000;

/** SHA-256 hex of `tenant + "\n" + idempotencyKey`: what the store keeps with the new key. */
export function reissueRequestHash(tenant: string, idempotencyKey: string): string {
  return createHash('sha256').update(`${tenant}\n${idempotencyKey}`, 'utf8').digest('hex');
}

/** Whether a stored request hash is this one, in constant time (a hash is a retry's credential). */
export function sameRequestHash(stored: string | null, presented: string): boolean {
  if (stored === null) return false;
  const a = Buffer.from(stored, 'hex');
  const b = Buffer.from(presented, 'hex');
  return a.length === 32 && b.length === 32 && timingSafeEqual(a, b);
}
