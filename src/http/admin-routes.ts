// The admin API (issue 4), behind an admin JWT: tenants, order import, a tenant's timeline and
// entitlement, license keys, the tenant's live allocations on this node, and usage reports. Every write to a
// tenant is published to the fleet.
import { Router as createRouter, type Request, type Response, type Router } from 'express';
import { isValidTenantId } from '../auth/index.js';
import type { TenantEvents } from '../entitlement/cache/tenant-events.js';
import { computeTimeline, displayTextProblem, parseOrderHistory } from '../entitlement/rules/index.js';
import type { EntitlementAnswer } from '../entitlement/service/entitlement-service.js';
import type { AuditContext, EntitlementStore } from '../entitlement/store/index.js';
import type { LicenseService, ReissueQueue } from '../licensing/index.js';
import type { Logger } from '../log/logger.js';
import { noteRequestTenant } from '../log/request-context.js';
import { requireAdmin } from './admin-auth.js';
import { auditHandler } from './audit-routes.js';
import { HttpError } from './http-error.js';
import type { RouteIntake } from './intake.js';
import { parseBody } from './json-body.js';
import { serverBody } from './license-routes.js';
import { reissueRequestRoutes } from './reissue-request-routes.js';
import type { RelayControl } from './relay-control.js';
import { publishChanges } from './tenant-changes.js';
import { type UsageReader, usageHandler } from './usage-route.js';

/** What the admin routes need. */
export interface AdminRouteDeps {
  intake: RouteIntake;
  adminSecret: string;
  store: Pick<
    EntitlementStore,
    'importOrders' | 'orderHistory' | 'getTenant' | 'listTenants' | 'listKeys' | 'usage' | 'listAudit'
  >;
  /** Per-tenant usage reports (issue 6); absent: read from the store alone. */
  usage?: UsageReader;
  licenses: Pick<LicenseService, 'issue' | 'reissue' | 'revoke'>;
  /** The form's reissue-request queue (issue 21); absent: its routes are not served. */
  reissueRequests?: ReissueQueue;
  entitlements: { get(tenant: string, now: number): Promise<EntitlementAnswer> };
  events: Pick<TenantEvents, 'publish'>;
  relay: RelayControl;
  logger: Logger;
  clock: () => number;
}

function tenantParam(value: string | string[] | undefined): string {
  if (typeof value !== 'string' || !isValidTenantId(value)) {
    throw new HttpError(
      'invalid_request',
      'tenant: tenant ids are 1-64 characters of A-Z a-z 0-9 . _ -, not . or ..',
    );
  }
  noteRequestTenant(value);
  return value;
}

function adminOf(locals: Record<string, unknown>): string | null {
  const admin = locals.admin as { subject: string | null } | undefined;
  return admin?.subject ?? null;
}

/** Who asks, for the audit trail: `admin:<sub>` (or `admin`) and the client address. */
function auditOf(req: Request, res: Response): AuditContext {
  const subject = adminOf(res.locals);
  return { actor: subject === null ? 'admin' : `admin:${subject}`, client: req.ip ?? null };
}

/** The /v1/admin routes. */
export function adminRoutes(deps: AdminRouteDeps): Router {
  const router = createRouter();
  const log = deps.logger.child({ component: 'admin' });
  // Authenticated before the body is even parsed.
  const guard = [deps.intake.ipLimit, requireAdmin(deps.adminSecret, deps.clock), ...deps.intake.body];

  router.get('/v1/admin/tenants', ...guard, async (_req, res) => {
    const tenants = await deps.store.listTenants();
    res.json({
      tenants: tenants.map((t) => ({ id: t.id, name: t.name, createdAt: t.createdAt.toISOString() })),
    });
  });

  router.post('/v1/admin/orders', ...guard, async (req, res) => {
    const raw: unknown = req.body;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      throw new HttpError('invalid_request', 'body: an order history must be a JSON object {tenant, orders}');
    }
    const { name, ...historyFields } = raw as Record<string, unknown>;
    if (name !== undefined) {
      const problem =
        typeof name === 'string'
          ? displayTextProblem(name, 200)
          : 'must be a non-empty string of at most 200 characters';
      if (problem !== null) throw new HttpError('invalid_request', `name: ${problem}`);
    }
    const history = parseOrderHistory(historyFields);
    const tenant = tenantParam(history.tenant);
    const now = new Date(deps.clock());
    const result = await deps.store.importOrders(tenant, history.orders, {
      now,
      audit: auditOf(req, res),
      ...(typeof name === 'string' ? { tenantName: name } : {}),
    });
    await publishChanges(deps.events, tenant, result.changes);
    log.info('orders imported', {
      tenant,
      admin: adminOf(res.locals),
      accepted: result.accepted.length,
      rejected: result.rejected.length,
    });
    res.json({
      tenant: result.tenant,
      accepted: result.accepted,
      rejected: result.rejected,
      unchanged: result.unchanged,
      statusChanged: result.statusChanged,
    });
  });

  router.get('/v1/admin/tenants/:tenant', ...guard, async (req, res) => {
    const id = tenantParam(req.params.tenant);
    const [tenant, history, keys] = await Promise.all([
      deps.store.getTenant(id),
      deps.store.orderHistory(id),
      deps.store.listKeys(id),
    ]);
    if (tenant === null || history === null) throw new HttpError('unknown_tenant', `unknown tenant ${id}`);
    const { expiresAt: _cacheDeadline, ...entitlement } = await deps.entitlements.get(id, deps.clock());
    res.json({
      tenant: { id: tenant.id, name: tenant.name, createdAt: tenant.createdAt.toISOString() },
      timeline: computeTimeline(history),
      entitlement,
      keys: keys.map((k) => k.toPublic()),
    });
  });

  router.get('/v1/admin/tenants/:tenant/license-keys', ...guard, async (req, res) => {
    const id = tenantParam(req.params.tenant);
    if ((await deps.store.getTenant(id)) === null)
      throw new HttpError('unknown_tenant', `unknown tenant ${id}`);
    const keys = await deps.store.listKeys(id);
    res.json({ keys: keys.map((k) => k.toPublic()) });
  });

  router.post('/v1/admin/tenants/:tenant/license-keys', ...guard, async (req, res) => {
    const id = tenantParam(req.params.tenant);
    const body = parseBody(serverBody, req.body);
    const outcome = await deps.licenses.issue(id, body.server, new Date(deps.clock()), auditOf(req, res));
    await publishChanges(deps.events, id, outcome.changes, outcome.issued.keyId);
    log.info('license key issued', { tenant: id, keyId: outcome.issued.keyId, admin: adminOf(res.locals) });
    res.status(201).json({ keyId: outcome.issued.keyId, key: outcome.issued.reveal() });
  });

  router.post('/v1/admin/tenants/:tenant/license-keys/reissue', ...guard, async (req, res) => {
    const id = tenantParam(req.params.tenant);
    const body = parseBody(serverBody, req.body);
    // As in self-service reissue: a write that may have committed unseen makes every node re-read
    // the tenant's keys (no key id: the store revokes whichever key is in force).
    // No compare-and-set: the customer lost the old key. The store revokes whichever key is
    // active under the tenant's lock, so a self-service reissue racing this one either committed
    // before (its key is revoked here) or finds its signing key revoked: this key stands.
    const outcome = await deps.licenses.reissue(id, body.server, new Date(deps.clock()), {
      onOutcomeUnknown: () => deps.events.publish({ tenant: id, kind: 'key_uncertain' }),
      audit: auditOf(req, res),
    });
    const revokedKeys = [...new Set([...outcome.changes.revokedKeys, ...outcome.revoked])];
    await publishChanges(deps.events, id, { ...outcome.changes, revokedKeys }, outcome.issued.keyId);
    log.info('license key reissued', {
      tenant: id,
      keyId: outcome.issued.keyId,
      revoked: revokedKeys,
      admin: adminOf(res.locals),
    });
    res.json({ keyId: outcome.issued.keyId, key: outcome.issued.reveal(), revoked: revokedKeys });
  });

  router.post('/v1/admin/license-keys/:keyId/revoke', ...guard, async (req, res) => {
    const keyId = String(req.params.keyId);
    const outcome = await deps.licenses.revoke(keyId, new Date(deps.clock()), auditOf(req, res));
    const revokedKeys = [...new Set([...outcome.changes.revokedKeys, keyId])];
    await publishChanges(deps.events, outcome.key.tenant, { ...outcome.changes, revokedKeys });
    log.info('license key revoked', {
      tenant: outcome.key.tenant,
      keyId,
      revoked: outcome.revoked,
      admin: adminOf(res.locals),
    });
    res.json({ key: outcome.key.toPublic(), revoked: outcome.revoked });
  });

  router.get('/v1/admin/audit', ...guard, auditHandler(deps.store));

  if (deps.reissueRequests !== undefined) {
    router.use(
      reissueRequestRoutes({
        guard,
        queue: deps.reissueRequests,
        events: deps.events,
        logger: deps.logger,
        clock: deps.clock,
        auditOf,
      }),
    );
  }

  router.get(
    '/v1/admin/usage',
    ...guard,
    usageHandler({ store: deps.store, ...(deps.usage === undefined ? {} : { usage: deps.usage }) }),
  );

  // Fleet-wide with Redis (every node answers, each allocation names its node); an unknown tenant
  // is 404, as on GET /v1/admin/tenants/{id}.
  router.get('/v1/admin/tenants/:tenant/allocations', ...guard, async (req, res) => {
    const id = tenantParam(req.params.tenant);
    if ((await deps.store.getTenant(id)) === null)
      throw new HttpError('unknown_tenant', `unknown tenant ${id}`);
    if (deps.relay.listFleetAllocations !== undefined) {
      res.json(await deps.relay.listFleetAllocations(id));
      return;
    }
    res.json({ allocations: await deps.relay.listAllocations(id) });
  });

  router.delete('/v1/admin/tenants/:tenant/allocations', ...guard, async (req, res) => {
    const id = tenantParam(req.params.tenant);
    if ((await deps.store.getTenant(id)) === null)
      throw new HttpError('unknown_tenant', `unknown tenant ${id}`);
    if (deps.relay.closeFleetAllocations !== undefined) {
      const outcome = await deps.relay.closeFleetAllocations(id);
      log.info('allocations closed by admin', {
        tenant: id,
        closed: outcome.closed,
        unreachable: outcome.unreachable,
        admin: adminOf(res.locals),
      });
      res.json(outcome);
      return;
    }
    const closed = await deps.relay.closeAllocationsOfTenant(id, 'admin');
    log.info('allocations closed by admin', { tenant: id, closed, admin: adminOf(res.locals) });
    res.json({ closed });
  });

  return router;
}
