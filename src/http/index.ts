/** The HTTP API: createHttpApp and the types its composition needs. */
export { type AdminIdentity, verifyAdminToken } from './admin-auth.js';
export {
  ADMIN_TOKEN_AUDIENCE,
  ADMIN_TOKEN_ISSUER,
  MAX_ADMIN_TOKEN_TTL_SECONDS,
} from './admin-token-claims.js';
export { BODY_LIMIT, createHttpApp, type HttpAppDeps } from './app.js';
export { appPrototypes, createAppServer } from './app-server.js';
export {
  type CredentialOpaque,
  cachedPseudonyms,
  credentialOpaque,
  parseCredentialOpaque,
  userPseudonym,
} from './credential-opaque.js';
export { credentialTtl } from './credential-ttl.js';
export { type ErrorBody, HTTP_ERROR_CODES, HttpError, type HttpErrorCode, STATUS_OF } from './http-error.js';
export { type IceUrls, iceUrlsOf, type TurnListener } from './ice-urls.js';
export { createMetricsServer, METRICS_MAX_CONNECTIONS } from './metrics-server.js';
export { DEFAULT_RATE_LIMITS, type RateLimitSettings } from './rate-limit/rate-limit-policy.js';
export {
  MemoryRateLimiter,
  type RateDecision,
  type RateLimiter,
  type RateLimitRule,
} from './rate-limit/rate-limiter.js';
export { rateLimiterFor } from './rate-limit/rate-limiter-for.js';
export { RedisRateLimiter } from './rate-limit/redis-rate-limiter.js';
export { Readiness } from './readiness.js';
export type {
  FleetAllocations,
  FleetClosed,
  FleetCoverageSummary,
  RelayAllocationSummary,
  RelayControl,
} from './relay-control.js';
export { entitlementRefusal } from './tenant-gate.js';
export type { UsageReader } from './usage-route.js';
