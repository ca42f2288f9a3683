// One cached entitlement answer and its two deadlines. `freshUntil` is when it must be asked
// again; `staleUntil` is how long it may still be served while the store is unreachable. Both
// stop at the tenant's next state change, so no answer outlives a period start or end.
import type { Entitlement, EntitlementState } from '../types.js';

/** An entitlement answer with the instants (ms since the epoch) that bound its use. */
export interface CachedEntitlement {
  entitlement: Entitlement;
  fetchedAt: number;
  freshUntil: number;
  staleUntil: number;
}

/** How long answers live. */
export interface CachePolicy {
  /** Longest life of an active answer (default 60 s). */
  maxTtlMs: number;
  /** Life of a negative answer: none, expired, not started (default 5 s). */
  negativeTtlMs: number;
  /** How long past `freshUntil` an answer may serve while the store is unreachable (default 5 min). */
  staleIfErrorMs: number;
}

/** The defaults of the brief: 60 s, 5 s, 5 min. */
export const DEFAULT_CACHE_POLICY: CachePolicy = {
  maxTtlMs: 60_000,
  negativeTtlMs: 5_000,
  staleIfErrorMs: 300_000,
};

/** Builds the cache entry for an answer computed at `now`, given the tenant's next change (or null). */
export function cacheEntryFor(
  entitlement: Entitlement,
  now: number,
  nextChange: Date | null,
  policy: CachePolicy,
): CachedEntitlement {
  const ttl = entitlement.active ? policy.maxTtlMs : policy.negativeTtlMs;
  const change = nextChange === null ? Number.POSITIVE_INFINITY : nextChange.getTime();
  // A next change at or before now would be a rules bug; never cache past it either way.
  const freshUntil = Math.max(now, Math.min(now + ttl, change));
  const staleUntil = Math.max(freshUntil, Math.min(freshUntil + policy.staleIfErrorMs, change));
  return { entitlement, fetchedAt: now, freshUntil, staleUntil };
}

const STATES: ReadonlySet<string> = new Set<EntitlementState>([
  'active',
  'grace',
  'not_started',
  'expired',
  'none',
  'unknown',
]);

/** Reads an entry back from its JSON form; null for anything malformed (e.g. another version). */
export function parseCachedEntitlement(text: string, tenant: string): CachedEntitlement | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  const e = o.entitlement as Record<string, unknown> | undefined;
  if (typeof e !== 'object' || e === null) return null;
  if (
    e.tenant !== tenant ||
    typeof e.active !== 'boolean' ||
    typeof e.state !== 'string' ||
    !STATES.has(e.state) ||
    typeof e.licenses !== 'number' ||
    !(e.until === null || typeof e.until === 'string') ||
    typeof o.fetchedAt !== 'number' ||
    typeof o.freshUntil !== 'number' ||
    typeof o.staleUntil !== 'number'
  ) {
    return null;
  }
  return {
    entitlement: {
      tenant,
      active: e.active,
      state: e.state as EntitlementState,
      licenses: e.licenses,
      until: e.until as string | null,
    },
    fetchedAt: o.fetchedAt,
    freshUntil: o.freshUntil,
    staleUntil: o.staleUntil,
  };
}
