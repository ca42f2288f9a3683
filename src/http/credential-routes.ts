// The credential endpoint (DESIGN.md): POST /v1/ice-servers answers an RTCConfiguration
// (W3C webrtc-pc section 4.2.1, RTCIceServer) with a TURN REST credential, and
// GET /v1/turn-credentials answers the same credential in the draft-uberti-rtcweb-turn-rest-00
// section 2.2 shape. Responses carry secrets: never cached (Cache-Control: no-store).
import { Router as createRouter, type Request, type RequestHandler, type Router } from 'express';
import { z } from 'zod';
import { mintCredential, type SecretRing } from '../auth/index.js';
import type { CredentialApi } from '../metrics/label-sets.js';
import type { IcegateMetrics } from '../metrics/metrics.js';
import { countCredentialOutcome } from './credential-metrics.js';
import { cachedPseudonyms, credentialOpaque, type PseudonymOf } from './credential-opaque.js';
import { credentialTtl } from './credential-ttl.js';
import { HttpError } from './http-error.js';
import { iceUrlsOf, type TurnListener } from './ice-urls.js';
import type { RouteIntake } from './intake.js';
import { parseBody } from './json-body.js';
import { chain } from './middleware-chain.js';
import {
  type AdmittedTenant,
  admitTenantNow,
  countIpAndTenant,
  type EarlyTenantCount,
  type TenantGateDeps,
} from './tenant-gate.js';

/** What the credential routes need. */
export interface CredentialRouteDeps {
  intake: RouteIntake;
  gate: TenantGateDeps;
  ring: SecretRing;
  listeners: readonly TurnListener[];
  /** CREDENTIAL_TTL_MAX, seconds. */
  maxTtlSeconds: number;
  clock: () => number;
  metrics?: IcegateMetrics;
  /**
   * What runs first on these routes, in order (app.ts: the access log and helmet's headers, the
   * CORS policy, then Cache-Control: no-store), inside the routes' own layer rather than as
   * layers ahead of them.
   */
  front?: readonly RequestHandler[];
}

const iceServersBody = z.object({
  ttl: z
    .number({ error: 'must be a positive integer (seconds)' })
    .int('must be a positive integer (seconds)')
    .min(1, 'must be a positive integer (seconds)')
    .optional(),
});

/** Mints the credential of an admitted tenant. */
function mint(
  deps: CredentialRouteDeps,
  pseudonymOf: PseudonymOf,
  admitted: AdmittedTenant,
  now: number,
  requestedTtl?: number,
) {
  const { tenant, keyId, subject } = admitted.token;
  const ttl = credentialTtl(admitted.entitlement, now, deps.maxTtlSeconds, requestedTtl);
  const opaque = credentialOpaque(deps.ring, tenant, keyId, subject ?? undefined, pseudonymOf);
  const credential = mintCredential(deps.ring, { tenant, ttlSeconds: ttl, now, opaque });
  return { ttl, credential };
}

/** POST /v1/ice-servers and GET /v1/turn-credentials, in a router of their own. */
export function credentialRoutes(deps: CredentialRouteDeps): Router {
  const router = createRouter();
  addCredentialRoutes(router, deps);
  return router;
}

/**
 * Adds POST /v1/ice-servers and GET /v1/turn-credentials to `router` (or an app): the app adds
 * them to its own stack, so the busiest route is not behind a nested router's layers (issue 19).
 */
export function addCredentialRoutes(router: Pick<Router, 'get' | 'post'>, deps: CredentialRouteDeps): void {
  const front = deps.front ?? [];
  const urls = iceUrlsOf(deps.listeners);
  if (urls.turn.length === 0)
    throw new RangeError('the credential endpoint needs at least one TURN listener');
  const count = (api: CredentialApi) => countCredentialOutcome(api, deps.metrics);
  const pseudonymOf = cachedPseudonyms(deps.ring);
  // With Redis, the IP and the tenant are counted in one call when the token verifies from
  // memory (countIpAndTenant); the gate then takes that count. In memory, ipLimit and the gate
  // count without a promise, as before.
  const early = new WeakMap<Request, EarlyTenantCount>();
  const limits: RequestHandler =
    deps.gate.limiter.hitBoth === undefined
      ? deps.intake.ipLimit
      : (req, res, next) => {
          const counting = countIpAndTenant(req, deps.gate, deps.intake.ipHit(req), deps.clock());
          if (counting === undefined) return deps.intake.ipLimit(req, res, next);
          return counting.then((counted) => {
            early.set(req, counted);
            next();
          });
        };

  // Each route's middlewares and handler run as one router layer (middleware-chain.ts).
  router.post(
    '/v1/ice-servers',
    chain([
      ...front,
      count('ice_servers'),
      limits,
      ...deps.intake.body,
      (req, res) => {
        const body = parseBody(iceServersBody, req.body, {});
        const now = deps.clock();
        const answer = (admitted: AdmittedTenant) => {
          const { ttl, credential } = mint(deps, pseudonymOf, admitted, now, body.ttl);
          const iceServers: { urls: string[]; username?: string; credential?: string }[] = [];
          if (urls.stun.length > 0) iceServers.push({ urls: urls.stun });
          iceServers.push({
            urls: urls.turn,
            username: credential.username,
            credential: credential.password,
          });
          res.json({ iceServers, ttl, expiresAt: credential.expiresAt.toISOString() });
        };
        // Without a promise when the gate decides from memory (admitTenantNow, issue 19).
        const admitted = admitTenantNow(req, deps.gate, now, {}, early.get(req));
        if (admitted instanceof Promise) return admitted.then(answer);
        answer(admitted);
      },
    ]),
  );

  router.get(
    '/v1/turn-credentials',
    chain([
      ...front,
      count('turn_credentials'),
      limits,
      (req, res) => {
        if (req.query.service !== 'turn') {
          throw new HttpError('invalid_request', 'query parameter service must be "turn"');
        }
        const now = deps.clock();
        const answer = (admitted: AdmittedTenant) => {
          const { ttl, credential } = mint(deps, pseudonymOf, admitted, now);
          res.json({ username: credential.username, password: credential.password, ttl, uris: urls.turn });
        };
        const admitted = admitTenantNow(req, deps.gate, now, {}, early.get(req));
        if (admitted instanceof Promise) return admitted.then(answer);
        answer(admitted);
      },
    ]),
  );
}
