// Which limits apply: per client IP before any token work (so floods stay cheap) and per
// tenant once the token is verified (so one customer cannot starve the others).
import { HttpError } from '../http-error.js';
import type { RateDecision, RateLimiter, RateLimitRule } from './rate-limiter.js';

/** The limits of the credential and admin routes. */
export interface RateLimitSettings {
  /** Requests per client IP (default 120 per minute). */
  perIp: RateLimitRule;
  /** Credential requests per tenant (default 6,000 per minute). */
  perTenant: RateLimitRule;
}

/** Defaults sized for a company behind one NAT address asking once per call participant. */
export const DEFAULT_RATE_LIMITS: RateLimitSettings = {
  perIp: { limit: 120, windowMs: 60_000 },
  perTenant: { limit: 6_000, windowMs: 60_000 },
};

/** Counts a request of `key`; throws 429 `rate_limited` with Retry-After when over the limit. */
export async function enforceRateLimit(
  limiter: RateLimiter,
  scope: 'ip' | 'tenant',
  key: string,
  rule: RateLimitRule,
  now: number,
): Promise<void> {
  refuseOverLimit(scope, await limiter.hit(scope, key, rule, now), now);
}

/**
 * `enforceRateLimit` without a promise when the limiter counts in memory (`hitNow`): undefined
 * once counted and allowed, else the promise of `enforceRateLimit`. Throws the 429 itself.
 */
export function enforceRateLimitNow(
  limiter: RateLimiter,
  scope: 'ip' | 'tenant',
  key: string,
  rule: RateLimitRule,
  now: number,
): Promise<void> | undefined {
  if (limiter.hitNow === undefined) return enforceRateLimit(limiter, scope, key, rule, now);
  refuseOverLimit(scope, limiter.hitNow(scope, key, rule, now), now);
  return undefined;
}

/** Throws the 429 of a request `decision` did not allow. */
export function refuseOverLimit(scope: 'ip' | 'tenant', decision: RateDecision, now: number): void {
  if (decision.allowed) return;
  const retryAfter = Math.max(1, Math.ceil((decision.resetAt - now) / 1000));
  throw new HttpError(
    'rate_limited',
    scope === 'ip' ? 'too many requests from this address' : 'too many requests for this tenant',
    { 'Retry-After': String(retryAfter) },
  );
}
