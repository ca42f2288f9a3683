// The reissue-request queue over the admin API (issue 21): support staff queue a request received
// through the vendor's form, list what is pending or overdue, fulfil it (a reissue that revokes the
// old key fleet-wide, as the admin reissue route does) or cancel it. Mounted behind the admin guard.
import { type Request, type RequestHandler, type Response, Router } from 'express';
import { z } from 'zod';
import { isValidTenantId } from '../auth/index.js';
import type { TenantEvents } from '../entitlement/cache/tenant-events.js';
import { type AuditContext, isStoreError } from '../entitlement/store/index.js';
import { isRequestId, type ReissueQueue, type ReissueRequestFilter } from '../licensing/index.js';
import type { Logger } from '../log/logger.js';
import { HttpError } from './http-error.js';
import { parseBody } from './json-body.js';
import { publishChanges } from './tenant-changes.js';

/** What the queue routes need. */
export interface ReissueRequestRouteDeps {
  /** The admin guard (rate limit, admin JWT, JSON body). */
  guard: RequestHandler[];
  queue: ReissueQueue;
  events: Pick<TenantEvents, 'publish'>;
  logger: Logger;
  clock: () => number;
  auditOf: (req: Request, res: Response) => AuditContext;
}

const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

const newRequestBody = z.object({
  tenant: z
    .string({ error: 'must be a string (the tenant id)' })
    .refine(isValidTenantId, '1-64 characters of A-Z a-z 0-9 . _ -'),
  server: z.string({ error: 'must be a string (the server identity)' }).min(1, 'must not be empty').max(255),
  receivedAt: z
    .string({ error: 'must be a string' })
    .regex(INSTANT, 'an ISO-8601 instant with offset, e.g. 2027-05-25T17:00:00+09:00')
    .refine((s) => !Number.isNaN(Date.parse(s)), 'not a valid instant')
    .optional(),
  reference: z
    .string({ error: 'must be a string (the form id)' })
    .regex(/^[\x21-\x7e]{1,128}$/, '1-128 visible ASCII characters')
    .optional(),
});

const cancelBody = z.object({
  reason: z.string({ error: 'must be a string' }).trim().min(1, 'must not be empty').max(500),
});

const FILTERS: readonly string[] = ['pending', 'overdue', 'done'];

function requestId(value: unknown): string {
  const id = String(value);
  if (!isRequestId(id)) throw new HttpError('unknown_reissue_request', `no reissue request has id ${id}`);
  return id;
}

function single(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new HttpError('invalid_request', `${name}: give it once`);
  return value;
}

/** The /v1/admin/reissue-requests routes. */
export function reissueRequestRoutes(deps: ReissueRequestRouteDeps): Router {
  const router = Router();
  const log = deps.logger.child({ component: 'reissue-requests' });
  const { guard, queue } = deps;

  router.post('/v1/admin/reissue-requests', ...guard, async (req, res) => {
    const body = parseBody(newRequestBody, req.body);
    const now = new Date(deps.clock());
    const { request, created } = await queue.add(
      {
        tenant: body.tenant,
        server: body.server,
        ...(body.receivedAt === undefined ? {} : { receivedAt: new Date(body.receivedAt) }),
        ...(body.reference === undefined ? {} : { reference: body.reference }),
      },
      now,
      deps.auditOf(req, res),
    );
    if (created)
      log.info('reissue request queued', {
        tenant: request.tenant,
        request: request.id,
        due: request.dueDate,
      });
    // A resubmitted form is answered with the request queued the first time, 200 instead of 201.
    res.status(created ? 201 : 200).json(request);
  });

  router.get('/v1/admin/reissue-requests', ...guard, async (req, res) => {
    const state = single(req.query.state, 'state');
    if (state !== undefined && !FILTERS.includes(state)) {
      throw new HttpError('invalid_request', 'state: one of pending, overdue, done');
    }
    const tenant = single(req.query.tenant, 'tenant');
    if (tenant !== undefined && !isValidTenantId(tenant)) {
      throw new HttpError('invalid_request', 'tenant: 1-64 characters of A-Z a-z 0-9 . _ -');
    }
    const requests = await queue.list(
      state as ReissueRequestFilter | undefined,
      tenant,
      new Date(deps.clock()),
    );
    res.json({ requests });
  });

  router.get('/v1/admin/reissue-requests/:id', ...guard, async (req, res) => {
    const id = requestId(req.params.id);
    const request = await queue.get(id, new Date(deps.clock()));
    if (request === null) throw new HttpError('unknown_reissue_request', `no reissue request has id ${id}`);
    res.json(request);
  });

  router.post('/v1/admin/reissue-requests/:id/fulfil', ...guard, async (req, res) => {
    const id = requestId(req.params.id);
    const before = await queue.get(id, new Date(deps.clock()));
    if (before === null) throw new HttpError('unknown_reissue_request', `no reissue request has id ${id}`);
    let outcome: Awaited<ReturnType<ReissueQueue['fulfil']>>;
    try {
      outcome = await queue.fulfil(id, new Date(deps.clock()), deps.auditOf(req, res));
    } catch (err) {
      // As with the admin reissue: the write may have committed with its reply lost; every node
      // re-reads the tenant's keys instead of trusting its cache.
      if (isStoreError(err, 'store_unavailable')) {
        await deps.events.publish({ tenant: before.tenant, kind: 'key_uncertain' }).catch(() => undefined);
      }
      throw err;
    }
    const { request, issued, reissue } = outcome;
    if (issued === null || reissue === null) {
      // Fulfilled before: the key was answered once, to whoever fulfilled it; never again.
      res.json(request);
      return;
    }
    await publishChanges(deps.events, request.tenant, reissue.changes, issued.keyId);
    log.info('reissue request fulfilled', {
      tenant: request.tenant,
      request: request.id,
      keyId: issued.keyId,
      revoked: reissue.revoked,
      onTime: request.onTime,
    });
    res.json({ ...request, key: issued.reveal(), revoked: reissue.revoked });
  });

  router.post('/v1/admin/reissue-requests/:id/cancel', ...guard, async (req, res) => {
    const id = requestId(req.params.id);
    const body = parseBody(cancelBody, req.body);
    const request = await queue.cancel(id, body.reason, new Date(deps.clock()), deps.auditOf(req, res));
    log.info('reissue request cancelled', { tenant: request.tenant, request: request.id });
    res.json(request);
  });

  return router;
}
