// The audit trail of tenant and license-key operations (issue 15, point 7): what happened, when,
// who asked (an admin token's subject, the signing key of a self-service request, the CLI's OS
// user), from which client address, and the outcome. A change and its record are written in the
// same transaction (PostgreSQL) or document replacement (file store): there is no change without
// its record. Records never hold a secret: key ids, server identities, order ids and counts only.
import { StoreError } from './errors.js';

/** What was done. */
export type AuditAction =
  /** An order-history import (new orders, or an identical re-import: `no_change`). */
  | 'orders_imported'
  /** A tenant's first key. */
  | 'key_issued'
  /** A new key replacing the tenant's active one (self-service, admin or CLI). */
  | 'key_reissued'
  /** A key revoked by an admin or the CLI (`no_change` when it already was). */
  | 'key_revoked'
  /** A self-service reissue retried with its Idempotency-Key and answered with the committed key. */
  | 'reissue_replayed'
  /** Requests signed with a revoked key, refused `license_revoked` (aggregated, see AuditRecorder). */
  | 'revoked_key_refused'
  /** A reissue request received through the form, queued (`no_change` for a resubmitted form). */
  | 'reissue_request_received'
  /** A queued reissue request fulfilled: its key reissued (`no_change` when it already was). */
  | 'reissue_request_fulfilled'
  /** A queued reissue request cancelled with a reason (`no_change` when it already was). */
  | 'reissue_request_cancelled';

/** Every action, for validation. */
export const AUDIT_ACTIONS: readonly AuditAction[] = [
  'orders_imported',
  'key_issued',
  'key_reissued',
  'key_revoked',
  'reissue_replayed',
  'revoked_key_refused',
  'reissue_request_received',
  'reissue_request_fulfilled',
  'reissue_request_cancelled',
];

/** How it ended: done, nothing to change, or refused. */
export type AuditOutcome = 'ok' | 'no_change' | 'refused';

/** Extra facts of one record: flat values only, never a secret. */
export type AuditDetails = Record<string, string | number | boolean | null | string[]>;

/** Who asked and from where; passed with each store write. */
export interface AuditContext {
  /**
   * `admin:<sub>` (or `admin` for a token without `sub`), `key:<keyId>` for a self-service request
   * signed with that key, `cli:<OS user>`.
   */
  actor: string;
  /** The client's IP address (HTTP), or null (CLI). */
  client: string | null;
}

/** The actor recorded when a write names none (tests, internal callers). */
export const UNSPECIFIED_ACTOR: AuditContext = { actor: 'unspecified', client: null };

/** One record to write. */
export interface NewAuditRecord {
  at: Date;
  tenant: string | null;
  action: AuditAction;
  outcome: AuditOutcome;
  actor: string;
  client: string | null;
  /** The key the action is about (the new key of a reissue), or null. */
  keyId: string | null;
  details: AuditDetails;
}

/** A stored record: `seq` orders records by insertion and is the pagination cursor. */
export interface AuditRecord extends NewAuditRecord {
  seq: number;
}

/** A query of the trail; every bound is optional. */
export interface AuditQuery {
  tenant?: string;
  /** Records with `at >= from`. */
  from?: Date;
  /** Records with `at < to`. */
  to?: Date;
  /** Records with `seq > after` (the `next` of the previous page). */
  after?: number;
  /** Page size; default AUDIT_PAGE_DEFAULT, at most AUDIT_PAGE_MAX. */
  limit?: number;
}

/** One page, oldest first; `next` is the cursor of the following page, null on the last one. */
export interface AuditPage {
  records: AuditRecord[];
  next: number | null;
}

export const AUDIT_PAGE_DEFAULT = 100;
export const AUDIT_PAGE_MAX = 1000;

/** The page size of a query, checked; `invalid_audit_query` for anything else. */
export function auditPageSize(query: AuditQuery): number {
  const limit = query.limit ?? AUDIT_PAGE_DEFAULT;
  if (!Number.isInteger(limit) || limit < 1 || limit > AUDIT_PAGE_MAX) {
    throw new StoreError('invalid_audit_query', `limit must be a whole number from 1 to ${AUDIT_PAGE_MAX}`);
  }
  if (query.after !== undefined && (!Number.isSafeInteger(query.after) || query.after < 0)) {
    throw new StoreError('invalid_audit_query', 'after must be a cursor from a previous page');
  }
  for (const [name, d] of [
    ['from', query.from],
    ['to', query.to],
  ] as const) {
    if (d !== undefined && Number.isNaN(d.getTime())) {
      throw new StoreError('invalid_audit_query', `${name} must be an instant`);
    }
  }
  return limit;
}

/** A record of `action` by `who` at `at`. */
export function auditRecord(
  who: AuditContext | undefined,
  at: Date,
  fields: Pick<NewAuditRecord, 'tenant' | 'action' | 'outcome' | 'keyId'> & { details?: AuditDetails },
): NewAuditRecord {
  const ctx = who ?? UNSPECIFIED_ACTOR;
  return {
    at,
    tenant: fields.tenant,
    action: fields.action,
    outcome: fields.outcome,
    actor: ctx.actor,
    client: ctx.client,
    keyId: fields.keyId,
    details: fields.details ?? {},
  };
}

/** Called with the records of each committed write, in order (the process logs them). */
export type AuditListener = (records: readonly AuditRecord[]) => void;

/** The record as JSON: ISO instant, for the admin API, the CLI and log lines. */
export function auditRecordJson(r: AuditRecord): {
  seq: number;
  at: string;
  tenant: string | null;
  action: AuditAction;
  outcome: AuditOutcome;
  actor: string;
  client: string | null;
  keyId: string | null;
  details: AuditDetails;
} {
  return {
    seq: r.seq,
    at: r.at.toISOString(),
    tenant: r.tenant,
    action: r.action,
    outcome: r.outcome,
    actor: r.actor,
    client: r.client,
    keyId: r.keyId,
    details: r.details,
  };
}
