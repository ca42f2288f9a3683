import type { TurnLimits } from './limits.js';

/**
 * The time-to-expiry granted for a requested LIFETIME (seconds), RFC 8656 sections 7.2 and 8.2:
 * the smaller of the request and the maximum, but the default when that is below the default
 * (a client cannot shorten an allocation below 10 minutes except by deleting it with 0).
 */
export function grantedLifetime(requested: number | null, limits: TurnLimits): number {
  if (requested === null) return limits.defaultLifetime;
  return Math.max(limits.defaultLifetime, Math.min(requested, limits.maxLifetime));
}
