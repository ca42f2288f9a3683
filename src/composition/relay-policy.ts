// The relay's policy hooks (DESIGN.md data flow): entitlement on every Allocate and Refresh,
// the per-tenant allocation quota derived from licenses in force, and the peer filter.
import type { EntitlementAnswer } from '../entitlement/service/index.js';
import { parseCredentialOpaque } from '../http/index.js';
import type { Logger } from '../log/logger.js';
import {
  type AuthDecision,
  type AuthorizeContext,
  type PeerVerdict,
  type TurnPolicy,
  USER_QUOTA_REASON,
} from '../turn/index.js';
import type { FleetAdmission } from './fleet-quota.js';

/** What the policy reads entitlements from (the cached EntitlementService). */
export interface EntitlementSource {
  get(tenant: string, now: number): Promise<EntitlementAnswer>;
  /**
   * The answer `get` would give at once from memory, or undefined when `get` would have to ask
   * further (Redis, the store). Lets the policy decide without a promise or a timer.
   */
  peek?(tenant: string, now: number): Readonly<EntitlementAnswer> | undefined;
}

/** A license key as the policy sees it. */
export type PolicyKey = { tenant: string; revokedAt: Date | null };

/** Where the policy looks license keys up (the fleet-invalidated LicenseKeyCache). */
export interface LicenseKeySource {
  lookup(keyId: string): Promise<PolicyKey | null>;
  /** What `lookup` would answer at once from memory (null: no such key), or undefined. */
  peek?(keyId: string): PolicyKey | null | undefined;
}

/** Options of the relay policy. */
export interface RelayPolicyOptions {
  entitlements: EntitlementSource;
  /** TURN_ALLOCATIONS_PER_LICENSE. */
  allocationsPerLicense: number;
  /**
   * TURN_ALLOCATIONS_PER_USER: concurrent allocations of one minted credential (username). Absent:
   * no per-user cap. Credentials without icegate's opaque part were made by a holder of
   * TURN_SECRETS, who can make any username at will, so a cap on them would protect nothing.
   */
  allocationsPerUser?: number;
  checkPeer(address: string): PeerVerdict;
  logger: Logger;
  clock?: () => number;
  /** An entitlement lookup slower than this fails the request (500, retried by clients). */
  timeoutMs?: number;
  /** The fleet-wide allocation ledger (Redis configured); absent: the quota is per node. */
  fleetQuota?: {
    admit(
      tenant: string,
      context: AuthorizeContext,
      limit: number,
      user?: { username: string; limit: number },
    ): Promise<FleetAdmission>;
  };
  /**
   * License keys: a credential minted from a key that has since been revoked (reissued for
   * another server) is refused on Allocate and Refresh, so its holder cannot re-allocate after
   * enforcement closed its allocations. Absent: keys are not checked.
   */
  keys?: LicenseKeySource;
}

/** The reason of a 486 for the fleet-wide quota (the per-node one is the core's own 486). */
export const FLEET_QUOTA_REASON = 'Allocation Quota Reached';

class LookupTimeout extends Error {
  readonly code = 'ICEGATE_ENTITLEMENT_TIMEOUT';
}

/** `promise`, or a LookupTimeout after `ms`; one promise and one timer, cleared when it settles. */
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new LookupTimeout(`entitlement lookup exceeded ${ms} ms`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

/**
 * Builds the TurnPolicy. A tenant without active support (or grace) is refused with 403 on
 * Allocate and on Refresh, which also ends its allocation (strict expiry, unlike coturn). Its
 * concurrent allocations are capped at licenses x TURN_ALLOCATIONS_PER_LICENSE: on this node by
 * the core, and across the fleet by `fleetQuota` (486 either way). When
 * the entitlement cannot be known (store down and cache stale) the lookup rejects: the core
 * answers 500 and changes nothing, so new allocations fail closed while live ones run on until
 * their own expiry.
 */
export function createRelayPolicy(options: RelayPolicyOptions): TurnPolicy {
  const clock = options.clock ?? Date.now;
  const timeoutMs = options.timeoutMs ?? 3_000;
  const log = options.logger.child({ component: 'relay-policy' });
  /**
   * Whether the credential's license key must be known: the tenant's support is active (an
   * inactive tenant is refused whatever its key), the credential names a key, and keys are checked.
   */
  const checksKey = (answer: Readonly<EntitlementAnswer>, keyId: string | null): keyId is string =>
    answer.active && keyId !== null && options.keys !== undefined;
  /**
   * The decision once the entitlement and the credential's key are known, before the fleet
   * ledger: a refusal, or the limits to allow with.
   */
  const judge = (
    answer: Readonly<EntitlementAnswer>,
    keyId: string | null,
    key: PolicyKey | null,
    tenant: string,
  ): AuthDecision => {
    if (checksKey(answer, keyId) && (key === null || key.tenant !== tenant)) {
      return { allowed: false, reason: 'unknown_license' };
    }
    if (!answer.active) {
      return {
        allowed: false,
        reason: answer.state === 'not_started' ? 'support_not_started' : 'support_expired',
      };
    }
    if (key !== null && key.revokedAt !== null) return { allowed: false, reason: 'license_revoked' };
    const maxAllocations = Math.max(1, answer.licenses * options.allocationsPerLicense);
    const perUser = keyId === null ? undefined : options.allocationsPerUser;
    return perUser === undefined
      ? { allowed: true, maxAllocations }
      : { allowed: true, maxAllocations, maxAllocationsPerUser: perUser };
  };

  /** The fleet ledger's say on an allowed Allocate ('unknown' keeps the per-node limits). */
  const admit = async (
    tenant: string,
    username: string,
    context: AuthorizeContext,
    allowed: AuthDecision,
  ): Promise<AuthDecision> => {
    if (!allowed.allowed || context.method !== 'allocate' || options.fleetQuota === undefined) return allowed;
    const perUser = allowed.maxAllocationsPerUser;
    const admission = await options.fleetQuota.admit(
      tenant,
      context,
      allowed.maxAllocations ?? 1,
      perUser === undefined ? undefined : { username, limit: perUser },
    );
    if (admission.result === 'full') {
      const reason = admission.scope === 'user' ? USER_QUOTA_REASON : FLEET_QUOTA_REASON;
      return { allowed: false, reason, code: 486 };
    }
    return allowed;
  };

  /** The lookups through promises with a timeout: what is not in memory. */
  const lookUp = async (
    tenant: string,
    keyId: string | null,
    context: AuthorizeContext,
  ): Promise<{ answer: EntitlementAnswer; key: PolicyKey | null }> => {
    try {
      const answer = await withTimeout(options.entitlements.get(tenant, clock()), timeoutMs);
      let key: PolicyKey | null = null;
      // options.keys is set: checksKey says so.
      if (checksKey(answer, keyId)) key = await withTimeout(options.keys!.lookup(keyId), timeoutMs);
      return { answer, key };
    } catch (err) {
      log.warn('entitlement unavailable for a TURN request', {
        tenant,
        method: context.method,
        error: err instanceof Error ? err.message : String(err),
      });
      throw err;
    }
  };

  return {
    checkPeer: options.checkPeer,
    authorize(
      tenant: string,
      username: string,
      context: AuthorizeContext,
    ): AuthDecision | Promise<AuthDecision> {
      // Credentials icegate minted name their key in the opaque part; others (an operator's
      // `turnutils_uclient -W SECRET`) carry none and are judged on the tenant alone.
      const keyId =
        context.opaque === undefined ? null : (parseCredentialOpaque(context.opaque)?.keyId ?? null);
      // The common case, everything in memory: decided here, without a promise or a timer.
      const known = options.entitlements.peek?.(tenant, clock());
      if (known !== undefined) {
        const key = checksKey(known, keyId) ? options.keys?.peek?.(keyId) : null;
        if (key !== undefined) {
          const decision = judge(known, keyId, key, tenant);
          const needsLedger =
            decision.allowed && context.method === 'allocate' && options.fleetQuota !== undefined;
          if (!needsLedger) return decision;
          return admit(tenant, username, context, decision);
        }
      }
      return lookUp(tenant, keyId, context).then(({ answer, key }) =>
        admit(tenant, username, context, judge(answer, keyId, key, tenant)),
      );
    },
  };
}
