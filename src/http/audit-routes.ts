// The audit trail over HTTP (issue 15 point 7): GET /v1/admin/audit, paginated by a cursor, and
// the error middleware that turns every `license_revoked` refusal into an (aggregated) audit
// record. Refusals are recorded where they are answered, so every route that verifies a tenant
// token, and a reissue that lost its compare-and-set, is covered alike.
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { isValidTenantId } from '../auth/index.js';
import {
  AUDIT_PAGE_MAX,
  type AuditQuery,
  auditRecordJson,
  type EntitlementStore,
} from '../entitlement/store/index.js';
import { TenantTokenError } from '../licensing/index.js';
import type { NoisyAudit } from '../licensing/noisy-audit.js';
import { HttpError } from './http-error.js';

function single(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new HttpError('invalid_request', `${name}: give it once`);
  return value;
}

const INSTANT = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;

function instant(value: string | undefined, name: string): Date | undefined {
  if (value === undefined) return undefined;
  const d = INSTANT.test(value) ? new Date(value.length === 10 ? `${value}T00:00:00+09:00` : value) : null;
  if (d === null || Number.isNaN(d.getTime())) {
    throw new HttpError(
      'invalid_request',
      `${name}: an ISO-8601 instant with offset (2027-05-25T00:00:00+09:00) or a JST date (2027-05-25)`,
    );
  }
  return d;
}

function whole(value: string | undefined, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = /^\d{1,15}$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new HttpError('invalid_request', `${name}: a whole number from ${min} to ${max}`);
  }
  return n;
}

/** The audit query of a request's `tenant`, `from`, `to`, `after`, `limit` parameters. */
export function auditQueryOf(query: Record<string, unknown>): AuditQuery {
  const tenant = single(query.tenant, 'tenant');
  if (tenant !== undefined && !isValidTenantId(tenant)) {
    throw new HttpError('invalid_request', 'tenant: 1-64 characters of A-Z a-z 0-9 . _ -');
  }
  const from = instant(single(query.from, 'from'), 'from');
  const to = instant(single(query.to, 'to'), 'to');
  if (from !== undefined && to !== undefined && from > to) {
    throw new HttpError('invalid_request', 'from must not be after to');
  }
  const after = whole(single(query.after, 'after'), 'after', 0, Number.MAX_SAFE_INTEGER);
  const limit = whole(single(query.limit, 'limit'), 'limit', 1, AUDIT_PAGE_MAX);
  return {
    ...(tenant === undefined ? {} : { tenant }),
    ...(from === undefined ? {} : { from }),
    ...(to === undefined ? {} : { to }),
    ...(after === undefined ? {} : { after }),
    ...(limit === undefined ? {} : { limit }),
  };
}

/** GET /v1/admin/audit: `{records, next}`, oldest first; pass `next` as `after` for the next page. */
export function auditHandler(store: Pick<EntitlementStore, 'listAudit'>): RequestHandler {
  return async (req, res) => {
    const page = await store.listAudit(auditQueryOf(req.query as Record<string, unknown>));
    res.json({ records: page.records.map(auditRecordJson), next: page.next });
  };
}

/** Records each `license_revoked` refusal (aggregated by NoisyAudit), then passes the error on. */
export function auditRevokedRefusals(audit: Pick<NoisyAudit, 'note'>): ErrorRequestHandler {
  return (err, req, _res, next) => {
    if (err instanceof TenantTokenError && err.code === 'license_revoked' && err.revokedKey !== null) {
      audit.note({
        action: 'revoked_key_refused',
        tenant: err.revokedKey.tenant,
        keyId: err.revokedKey.keyId,
        client: req.ip ?? null,
        route: `${req.method} ${req.route?.path ?? req.path}`,
      });
    }
    next(err);
  };
}
