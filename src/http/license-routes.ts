// Self-service key reissue (DESIGN.md, DOMAIN.md "License keys"): a tenant JWT signed with the
// current key asks for a new key bound to a new server; the old key is revoked at once and the
// fleet is told, so tokens of the old key are refused on every node within a second.
import { Router as createRouter, type Router } from 'express';
import { z } from 'zod';
import type { TenantEvents } from '../entitlement/cache/tenant-events.js';
import type { LicenseService } from '../licensing/index.js';
import type { RouteIntake } from './intake.js';
import { parseBody } from './json-body.js';
import { publishChanges } from './tenant-changes.js';
import { admitTenant, type TenantGateDeps } from './tenant-gate.js';

/** What the reissue route needs. */
export interface LicenseRouteDeps {
  intake: RouteIntake;
  gate: TenantGateDeps;
  licenses: Pick<LicenseService, 'reissue'>;
  events: Pick<TenantEvents, 'publish'>;
  clock: () => number;
}

/** The body naming the server a key is bound to. */
export const serverBody = z.object({
  server: z.string({ error: 'must be a string (the server identity)' }).min(1, 'must not be empty').max(255),
});

/** POST /v1/license-keys/reissue. */
export function licenseRoutes(deps: LicenseRouteDeps): Router {
  const router = createRouter();
  router.post('/v1/license-keys/reissue', deps.intake.ipLimit, ...deps.intake.body, async (req, res) => {
    const body = parseBody(serverBody, req.body);
    const now = deps.clock();
    const { token } = await admitTenant(req, deps.gate, now);
    const outcome = await deps.licenses.reissue(token.tenant, body.server, new Date(now));
    const revokedKeys = [...new Set([...outcome.changes.revokedKeys, ...outcome.revoked])];
    await publishChanges(
      deps.events,
      token.tenant,
      { ...outcome.changes, revokedKeys },
      outcome.issued.keyId,
    );
    res.json({ keyId: outcome.issued.keyId, key: outcome.issued.reveal() });
  });
  return router;
}
