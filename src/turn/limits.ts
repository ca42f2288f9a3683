import { TurnConfigError } from './errors.js';

/** Lifetimes (seconds) and capacity limits of the TURN core. */
export interface TurnLimits {
  /** Allocation lifetime when the client asks for less or nothing: 600 s, RFC 8656 section 2 ("10 minutes"). */
  defaultLifetime: number;
  /** Longest allocation lifetime granted: 3600 s, RFC 8656 section 7.2 recommends no more than an hour. */
  maxLifetime: number;
  /**
   * Permission lifetime: 300 s, RFC 8656 section 9. A ChannelBind keeps its peer's permission at
   * least for channelLifetime (channel-bind.ts). Shorter values are for tests (TURN_PERMISSION_LIFETIME).
   */
  permissionLifetime: number;
  /** Channel binding lifetime: 600 s, RFC 8656 section 12 (TURN_CHANNEL_LIFETIME). */
  channelLifetime: number;
  /** How long an EVEN-PORT reservation is held: at least 30 s, RFC 8656 section 7.2. */
  reservationLifetime: number;
  /** Permissions one allocation may hold; beyond it CreatePermission/ChannelBind get 508 (RFC 8656 sections 10.2, 12.2). */
  maxPermissionsPerAllocation: number;
  /** Channels one allocation may bind; beyond it ChannelBind gets 508. */
  maxChannelsPerAllocation: number;
  /** Built-in per-tenant cap on concurrent allocations (pending ones included); beyond it Allocate gets 486. */
  maxAllocationsPerTenant: number;
  /** Responses kept for retransmitted requests (the oldest is evicted first). */
  transactionCacheSize: number;
  /**
   * How long a response is kept for retransmissions: a UDP client retransmits for up to
   * Rc * RTO = 39.5 s with the defaults of RFC 8489 section 6.2.1, so 40 s.
   */
  transactionLifetime: number;
  /**
   * Reflection guard (RFC 8656 section 21.1): answers a UDP source may get at once before it proves
   * its address with a valid NONCE (401, 400, 420, 438, Binding). Beyond the budget requests are
   * dropped (packetDropped 'rate-limited').
   */
  unauthenticatedBurst: number;
  /** Unproven answers per second a UDP source earns back; Infinity turns the guard off. */
  unauthenticatedRate: number;
  /** Buckets of the guard's fixed table (rounded up to a power of two; 16 bytes each). */
  unauthenticatedSources: number;
}

/** Defaults: the RFC values, and bounds that a conference client never reaches. */
export const DEFAULT_TURN_LIMITS: Readonly<TurnLimits> = Object.freeze({
  defaultLifetime: 600,
  maxLifetime: 3600,
  permissionLifetime: 300,
  channelLifetime: 600,
  reservationLifetime: 30,
  maxPermissionsPerAllocation: 256,
  maxChannelsPerAllocation: 256,
  maxAllocationsPerTenant: Number.POSITIVE_INFINITY,
  transactionCacheSize: 20_000,
  transactionLifetime: 40,
  // A browser needs two or three unproven answers per session (Binding, the first 401, a 438 every
  // nonce lifetime); 16 a second still lets a NAT with hundreds of users start at once, UDP
  // retransmissions carrying the rest. Bytes to one spoofed victim: at most ~1.5 KB/s.
  unauthenticatedBurst: 32,
  unauthenticatedRate: 16,
  unauthenticatedSources: 16_384,
});

/** Merges `partial` over the defaults and checks every value; throws TurnConfigError naming the bad one. */
export function resolveLimits(partial: Partial<TurnLimits> = {}): TurnLimits {
  const limits: TurnLimits = { ...DEFAULT_TURN_LIMITS, ...partial };
  for (const [name, value] of Object.entries(limits)) {
    const ok = value === Number.POSITIVE_INFINITY || (Number.isFinite(value) && value > 0);
    if (!ok) throw new TurnConfigError('ICEGATE_TURN_BAD_LIMIT', `${name} must be a positive number`);
  }
  if (limits.maxLifetime < limits.defaultLifetime) {
    throw new TurnConfigError('ICEGATE_TURN_BAD_LIMIT', 'maxLifetime must be at least defaultLifetime');
  }
  return limits;
}
