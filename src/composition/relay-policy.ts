// The relay's policy hooks (DESIGN.md data flow): entitlement on every Allocate and Refresh,
// the per-tenant allocation quota derived from licenses in force, and the peer filter.
import type { EntitlementAnswer } from '../entitlement/service/index.js';
import type { Logger } from '../log/logger.js';
import type { AuthDecision, AuthorizeContext, PeerVerdict, TurnPolicy } from '../turn/index.js';

/** What the policy reads entitlements from (the cached EntitlementService). */
export interface EntitlementSource {
  get(tenant: string, now: number): Promise<EntitlementAnswer>;
}

/** Options of the relay policy. */
export interface RelayPolicyOptions {
  entitlements: EntitlementSource;
  /** TURN_ALLOCATIONS_PER_LICENSE. */
  allocationsPerLicense: number;
  checkPeer(address: string): PeerVerdict;
  logger: Logger;
  clock?: () => number;
  /** An entitlement lookup slower than this fails the request (500, retried by clients). */
  timeoutMs?: number;
}

class LookupTimeout extends Error {
  readonly code = 'ICEGATE_ENTITLEMENT_TIMEOUT';
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new LookupTimeout(`entitlement lookup exceeded ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Builds the TurnPolicy. A tenant without active support (or grace) is refused with 403 on
 * Allocate and on Refresh, which also ends its allocation (strict expiry, unlike coturn). When
 * the entitlement cannot be known (store down and cache stale) the lookup rejects: the core
 * answers 500 and changes nothing, so new allocations fail closed while live ones run on until
 * their own expiry.
 */
export function createRelayPolicy(options: RelayPolicyOptions): TurnPolicy {
  const clock = options.clock ?? Date.now;
  const timeoutMs = options.timeoutMs ?? 3_000;
  const log = options.logger.child({ component: 'relay-policy' });
  return {
    checkPeer: options.checkPeer,
    async authorize(tenant: string, _username: string, context: AuthorizeContext): Promise<AuthDecision> {
      let answer: EntitlementAnswer;
      try {
        answer = await withTimeout(options.entitlements.get(tenant, clock()), timeoutMs);
      } catch (err) {
        log.warn('entitlement unavailable for a TURN request', {
          tenant,
          method: context.method,
          error: err instanceof Error ? err.message : String(err),
        });
        throw err;
      }
      if (!answer.active) {
        return {
          allowed: false,
          reason: answer.state === 'not_started' ? 'support_not_started' : 'support_expired',
        };
      }
      return { allowed: true, maxAllocations: Math.max(1, answer.licenses * options.allocationsPerLicense) };
    },
  };
}
