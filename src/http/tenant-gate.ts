// The gate in front of every tenant route: a valid tenant JWT (licensing), the tenant's rate
// limit, then an entitlement that is active or in grace. The order keeps the cheap checks
// first and never tells an unauthenticated caller anything about a tenant's support.
import type { Request } from 'express';
import type { EntitlementAnswer } from '../entitlement/service/entitlement-service.js';
import type { StoredKey } from '../entitlement/store/stored-key.js';
import {
  TenantTokenError,
  type VerifiedTenantToken,
  type VerifyTenantTokenOptions,
  verifyTenantToken,
  verifyTenantTokenNow,
} from '../licensing/index.js';
import { noteRequestTenant } from '../log/request-context.js';
import { bearerToken } from './bearer-token.js';
import { HttpError } from './http-error.js';
import { enforceRateLimit, enforceRateLimitNow, refuseOverLimit } from './rate-limit/rate-limit-policy.js';
import type { RateDecision, RateHit, RateLimiter, RateLimitRule } from './rate-limit/rate-limiter.js';

/** What the gate needs. */
export interface TenantGateDeps {
  /** License keys by id (the fleet-invalidated cache). */
  keys: {
    lookup(keyId: string): Promise<StoredKey | null>;
    /** What `lookup` would answer from memory, undefined when it would ask the store (LicenseKeyCache). */
    peek?(keyId: string): StoredKey | null | undefined;
  };
  entitlements: {
    get(tenant: string, now: number): Promise<EntitlementAnswer>;
    /** What `get` would answer from memory, undefined when it would ask further (EntitlementService). */
    peek?(tenant: string, now: number): Readonly<EntitlementAnswer> | undefined;
  };
  limiter: RateLimiter;
  perTenant: RateLimitRule;
}

/** A caller that passed the gate. */
export interface AdmittedTenant {
  token: VerifiedTenantToken;
  entitlement: EntitlementAnswer;
}

/**
 * Refusal for an entitlement that is not active. Decisions: `none` (orders imported, none
 * accepted) is answered `support_expired`: to the customer both mean "no support in force; renew
 * or contact sales". `unknown` (the tenant was never imported: a provisioning mistake, not a
 * lapse) is answered 404 `unknown_tenant`, the admin API's code for the same fact (issue 16
 * point 4), so support can tell the two apart.
 */
export function entitlementRefusal(entitlement: EntitlementAnswer): HttpError | null {
  if (entitlement.active) return null;
  switch (entitlement.state) {
    case 'not_started':
      return new HttpError('support_not_started', 'annual support of this tenant has not started yet');
    case 'none':
      return new HttpError('support_expired', 'this tenant has no annual support in force');
    case 'unknown':
      return new HttpError(
        'unknown_tenant',
        'this tenant is not known to icegate: its orders were never imported',
      );
    default:
      return new HttpError('support_expired', 'annual support of this tenant has expired');
  }
}

/** A token verified and its tenant counted before the gate, with the client's IP (countIpAndTenant). */
export interface EarlyTenantCount {
  token: VerifiedTenantToken;
  /** The tenant's count, made because the IP was within its limit. */
  decision: RateDecision;
}

/**
 * The IP and tenant limits in one step, for a limiter that counts in Redis (`hitBoth`) and a
 * token that a cached key verifies: the client's IP (`ip`) and the token's tenant are counted in
 * one Redis call, the tenant only when the IP is within its limit, as when the gate counts it after
 * the IP limit; the IP's refusal is thrown as the IP limit throws it. The gate then uses what this
 * resolves to instead of verifying and counting again (admitTenantNow's `early`), so a request
 * waits for Redis once, not twice (issue 19). Undefined, with nothing counted, when the limiter
 * counts in memory or the token cannot be verified from memory (unknown key, bad token): the
 * route then counts the IP alone, before any key lookup, and the gate goes on as usual, so a bad
 * token is still refused after the IP limit and the body rules, as before. The tenant's count
 * (not its refusal, which the gate answers) now comes before the route's body and query rules, so
 * a tenant's requests that those refuse count toward its limit too.
 */
export function countIpAndTenant(
  req: Request,
  deps: TenantGateDeps,
  ip: RateHit,
  now: number,
): Promise<EarlyTenantCount> | undefined {
  const { limiter, keys } = deps;
  if (limiter.hitBoth === undefined || keys.peek === undefined) return undefined;
  let token: VerifiedTenantToken | undefined;
  try {
    token = verifyTenantTokenNow(bearerToken(req), (keyId) => keys.peek?.(keyId), new Date(now));
  } catch {
    return undefined;
  }
  if (token === undefined) return undefined;
  const verified = token;
  const tenant: RateHit = { scope: 'tenant', key: verified.tenant, rule: deps.perTenant };
  return limiter.hitBoth(ip, tenant, now).then(([ipDecision, tenantDecision]) => {
    refuseOverLimit('ip', ipDecision, now);
    return { token: verified, decision: tenantDecision as RateDecision };
  });
}

/** Admits the request's tenant at `now` (ms) or throws the refusal. */
export async function admitTenant(
  req: Request,
  deps: TenantGateDeps,
  now: number,
  verifyOptions: VerifyTenantTokenOptions = {},
): Promise<AdmittedTenant> {
  return admitTenantNow(req, deps, now, verifyOptions);
}

/**
 * `admitTenant` without a promise when everything it needs is in memory (the key and the
 * entitlement cached, an in-process limiter): the admitted tenant, or else a promise of it. A
 * refusal decided at once is thrown at once. The same checks in the same order (issue 19: the
 * promises, their async-context hooks and the garbage they leave were a good part of a warm
 * credential request's cost).
 */
export function admitTenantNow(
  req: Request,
  deps: TenantGateDeps,
  now: number,
  verifyOptions: VerifyTenantTokenOptions = {},
  /** The token and tenant count countIpAndTenant made for this request, if it did. */
  early?: EarlyTenantCount,
): AdmittedTenant | Promise<AdmittedTenant> {
  if (early !== undefined) {
    noteRequestTenant(early.token.tenant);
    refuseOverLimit('tenant', early.decision, now);
    return withEntitlement(early.token, deps, now);
  }
  const text = bearerToken(req);
  const at = new Date(now);
  const peekKey = deps.keys.peek;
  const token =
    peekKey === undefined
      ? undefined
      : verifyTenantTokenNow(text, (keyId) => peekKey.call(deps.keys, keyId), at, verifyOptions);
  if (token === undefined) {
    return verifyTenantToken(text, (keyId) => deps.keys.lookup(keyId), at, verifyOptions).then((verified) =>
      afterToken(verified, deps, now),
    );
  }
  return afterToken(token, deps, now);
}

/** The tenant's rate limit, then its entitlement. */
function afterToken(
  token: VerifiedTenantToken,
  deps: TenantGateDeps,
  now: number,
): AdmittedTenant | Promise<AdmittedTenant> {
  noteRequestTenant(token.tenant);
  const counting = enforceRateLimitNow(deps.limiter, 'tenant', token.tenant, deps.perTenant, now);
  if (counting !== undefined) return counting.then(() => withEntitlement(token, deps, now));
  return withEntitlement(token, deps, now);
}

function withEntitlement(
  token: VerifiedTenantToken,
  deps: TenantGateDeps,
  now: number,
): AdmittedTenant | Promise<AdmittedTenant> {
  const cached = deps.entitlements.peek?.(token.tenant, now);
  if (cached === undefined) {
    return deps.entitlements.get(token.tenant, now).then((entitlement) => admitted(token, entitlement));
  }
  return admitted(token, cached);
}

function admitted(token: VerifiedTenantToken, entitlement: EntitlementAnswer): AdmittedTenant {
  const refusal = entitlementRefusal(entitlement);
  if (refusal !== null) throw refusal;
  return { token, entitlement };
}

/** What the reissue gate found: a tenant admitted as usual, or a valid token of a revoked key. */
export type ReissueAdmission =
  | { kind: 'admitted'; admitted: AdmittedTenant }
  | { kind: 'revoked'; token: VerifiedTenantToken; refusal: TenantTokenError };

/**
 * The gate of a self-service reissue that carries an Idempotency-Key: as `admitTenant`, except
 * that a token whose only fault is its revoked key comes back as `revoked`, after the tenant's
 * rate limit (retries count too), with the refusal the route answers unless it recognises a
 * replay. The entitlement is not asked for it: a replay hands back the key a request that
 * passed this gate was given, and changes nothing.
 */
export async function admitReissue(
  req: Request,
  deps: TenantGateDeps,
  now: number,
): Promise<ReissueAdmission> {
  try {
    return { kind: 'admitted', admitted: await admitTenant(req, deps, now, { revealRevoked: true }) };
  } catch (err) {
    if (!(err instanceof TenantTokenError) || err.revokedToken === null) throw err;
    const token = err.revokedToken;
    await enforceRateLimit(deps.limiter, 'tenant', token.tenant, deps.perTenant, now);
    // The refusal to answer carries no token: an error handler must have nothing to log of it.
    return {
      kind: 'revoked',
      token,
      refusal: new TenantTokenError(err.code, err.message, null, err.revokedKey),
    };
  }
}
