// The Express application: credential endpoint, self-service reissue, admin API, probes and
// the OpenAPI document (/metrics has its own listener: metrics-server.ts). Everything it talks to is injected (`HttpAppDeps`); the
// composition root (src/main.ts) builds the deps and listens.
import express, { type Application, type RequestHandler } from 'express';
import type { SecretRing } from '../auth/index.js';
import type { Config } from '../config.js';
import type { TenantEvents } from '../entitlement/cache/tenant-events.js';
import type { EntitlementStore } from '../entitlement/store/store.js';
import type { LicenseService, ReissueQueue } from '../licensing/index.js';
import type { NoisyAudit } from '../licensing/noisy-audit.js';
import type { Logger } from '../log/logger.js';
import type { IcegateMetrics } from '../metrics/metrics.js';
import { accessLog } from './access-log.js';
import { adminRoutes } from './admin-routes.js';
import { auditRevokedRefusals } from './audit-routes.js';
import { type CheckPageOptions, checkPageRoutes } from './check-page/index.js';
import { corsPolicy } from './cors-policy.js';
import { addCredentialRoutes, type CredentialRouteDeps } from './credential-routes.js';
import { errorHandler, notFound } from './error-handler.js';
import { healthRoutes } from './health-routes.js';
import type { TurnListener } from './ice-urls.js';
import type { RouteIntake } from './intake.js';
import { requireJsonContent } from './json-body.js';
import { licenseRoutes } from './license-routes.js';
import { chain } from './middleware-chain.js';
import { clientKey } from './rate-limit/client-key.js';
import {
  DEFAULT_RATE_LIMITS,
  enforceRateLimitNow,
  type RateLimitSettings,
} from './rate-limit/rate-limit-policy.js';
import { MemoryRateLimiter, type RateLimiter } from './rate-limit/rate-limiter.js';
import type { Readiness } from './readiness.js';
import type { RelayControl } from './relay-control.js';
import { securityHeaders } from './security-headers.js';
import type { TenantGateDeps } from './tenant-gate.js';
import type { UsageReader } from './usage-route.js';

/** Largest accepted request body. Every body of this API is a few hundred bytes. */
export const BODY_LIMIT = '16kb';

/** Everything the HTTP app is built from. */
export interface HttpAppDeps {
  config: Pick<Config, 'CREDENTIAL_TTL_MAX' | 'CORS_ORIGINS' | 'ADMIN_TOKEN_SECRET'>;
  logger: Logger;
  /** The process metrics; requests are counted in them when given (served by metrics-server.ts). */
  metrics?: IcegateMetrics;
  /** Cached entitlements (EntitlementService; `peek` lets a warm request decide without a promise). */
  entitlements: TenantGateDeps['entitlements'];
  /** License keys by id for JWT verification (LicenseKeyCache; `peek` as for entitlements). */
  keys: TenantGateDeps['keys'];
  licenses: Pick<LicenseService, 'issue' | 'reissue' | 'replayReissue' | 'revoke'>;
  /** The form's reissue-request queue (issue 21); absent: /v1/admin/reissue-requests is not served. */
  reissueRequests?: ReissueQueue;
  /** Admin reads, order import and usage reports; self-service reissue reads keys here. */
  store: Pick<
    EntitlementStore,
    | 'importOrders'
    | 'orderHistory'
    | 'getTenant'
    | 'listTenants'
    | 'listKeys'
    | 'usage'
    | 'getKey'
    | 'listAudit'
  >;
  /**
   * Audit records of refusals of revoked keys and of reissue replays, aggregated (NoisyAudit);
   * absent: not recorded (unit tests).
   */
  noisyAudit?: Pick<NoisyAudit, 'note'>;
  /** Per-tenant usage (the node's UsageAccountant); absent: usage reports read the store alone. */
  usage?: UsageReader;
  /** Where every tenant write is published. */
  events: Pick<TenantEvents, 'publish'>;
  /** TURN secrets: the first mints credentials. */
  ring: SecretRing;
  relay: RelayControl;
  /** The TURN listeners clients can reach; only these appear in iceServers. */
  listeners: readonly TurnListener[];
  readiness: Readiness;
  /** Default: in-process counting. Pass a RedisRateLimiter so limits hold across replicas. */
  rateLimiter?: RateLimiter;
  rateLimits?: Partial<RateLimitSettings>;
  /** Express 'trust proxy' (default false: the socket address is the client IP). */
  trustProxy?: boolean | number | string | string[];
  /** Milliseconds since the epoch (default Date.now). */
  clock?: () => number;
  /** The connectivity-check page at /check (issue 5): the relay port range it names. */
  checkPage?: CheckPageOptions;
}

/** Builds the HTTP application; call `listen` on it (or mount it) in the composition root. */
export function createHttpApp(deps: HttpAppDeps): Application {
  const clock = deps.clock ?? Date.now;
  const logger = deps.logger.child({ component: 'http' });
  const limiter = deps.rateLimiter ?? new MemoryRateLimiter();
  const limits: RateLimitSettings = { ...DEFAULT_RATE_LIMITS, ...deps.rateLimits };
  const gate = { keys: deps.keys, entitlements: deps.entitlements, limiter, perTenant: limits.perTenant };

  const app = express();
  app.set('trust proxy', deps.trustProxy ?? false);
  app.set('etag', false);
  app.set('query parser', 'simple');
  // What every request goes through, in this order (request id, access log and latency metric
  // in one listener, then helmet's headers): first in the credential routes' own layer, then as
  // one layer of its own (middleware-chain.ts) for every other request. A request the credential
  // routes answer never reaches that layer; one they do not match (another path or method) never
  // ran their layer, so each request goes through it exactly once.
  const everyRequest = [accessLog(deps.logger, deps.metrics), securityHeaders()];

  // CORS first, so browsers can read refusals (429 included) and preflights cost nothing; every
  // /v1 answer carries Cache-Control: no-store. The credential routes run both first in their own
  // layer (addCredentialRoutes' `front`), ahead of the path-matched layers that do it for the rest.
  const tenantCors = corsPolicy(deps.config.CORS_ORIGINS);
  const noStore: RequestHandler = (_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  };
  const intake: RouteIntake = {
    // Without a promise when the limiter counts in memory (issue 19).
    ipLimit: (req, _res, next) => {
      const counting = enforceRateLimitNow(limiter, 'ip', clientKey(req.ip), limits.perIp, clock());
      if (counting === undefined) next();
      else return counting.then(() => next());
    },
    ipHit: (req) => ({ scope: 'ip', key: clientKey(req.ip), rule: limits.perIp }),
    body: [requireJsonContent(), express.json({ limit: BODY_LIMIT, strict: true, type: 'application/json' })],
  };

  const credentialDeps: CredentialRouteDeps = {
    intake,
    gate,
    ring: deps.ring,
    listeners: deps.listeners,
    maxTtlSeconds: deps.config.CREDENTIAL_TTL_MAX,
    clock,
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
    front: [...everyRequest, tenantCors, noStore],
  };
  // The busiest routes first, so their requests walk through one router layer only (issue 19).
  addCredentialRoutes(app, credentialDeps);
  app.use(chain(everyRequest));
  app.use(['/v1/ice-servers', '/v1/turn-credentials', '/v1/license-keys'], tenantCors);
  app.use('/v1', noStore);
  // Probes and the OpenAPI document come after the credential routes (their paths are disjoint),
  // so the busiest route does not walk through their layers first.
  app.use(healthRoutes(deps.readiness));
  // The OpenAPI document (about 1 MiB of V8 heap once built) is loaded at its first request, not
  // kept resident by every node that is never asked for it (memory at rest, issue 19).
  app.get('/openapi.json', async (_req, res) => {
    const { openApiDocument } = await import('./openapi.js');
    res.json(openApiDocument);
  });
  // Reissue reads the signing key from the store, not the cache: it decides between a new reissue
  // and a replay, and a reissue whose COMMIT reply was lost revoked that key without telling anyone.
  const reissueGate = { ...gate, keys: { lookup: (keyId: string) => deps.store.getKey(keyId) } };
  app.use(
    licenseRoutes({
      intake,
      gate: reissueGate,
      licenses: deps.licenses,
      events: deps.events,
      logger,
      clock,
      ...(deps.noisyAudit === undefined ? {} : { noisyAudit: deps.noisyAudit }),
    }),
  );
  if (deps.config.ADMIN_TOKEN_SECRET !== undefined) {
    app.use(
      adminRoutes({
        intake,
        adminSecret: deps.config.ADMIN_TOKEN_SECRET,
        store: deps.store,
        licenses: deps.licenses,
        entitlements: deps.entitlements,
        events: deps.events,
        relay: deps.relay,
        logger,
        clock,
        ...(deps.usage === undefined ? {} : { usage: deps.usage }),
        ...(deps.reissueRequests === undefined ? {} : { reissueRequests: deps.reissueRequests }),
      }),
    );
  }

  app.use(checkPageRoutes(deps.checkPage));

  app.use(notFound());
  if (deps.noisyAudit !== undefined) app.use(auditRevokedRefusals(deps.noisyAudit));
  app.use(errorHandler(logger));
  return app;
}
