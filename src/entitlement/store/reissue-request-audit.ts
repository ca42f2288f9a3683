// The audit records of the reissue-request queue, built alike by both stores.
import { type AuditContext, auditRecord, type NewAuditRecord } from './audit.js';
import type { ReissueRequestRecord } from './reissue-requests.js';

/** A request queued (`ok`) or a resubmitted form that queued nothing (`no_change`). */
export function requestReceivedRecord(
  who: AuditContext | undefined,
  at: Date,
  request: ReissueRequestRecord,
  created: boolean,
): NewAuditRecord {
  return auditRecord(who, at, {
    tenant: request.tenant,
    action: 'reissue_request_received',
    outcome: created ? 'ok' : 'no_change',
    keyId: null,
    details: {
      request: request.id,
      server: request.server,
      reference: request.reference,
      receivedAt: request.receivedAt.toISOString(),
      dueDate: request.dueDate,
    },
  });
}

/** A request fulfilled by this write (`ok`, with the new key) or before (`no_change`). */
export function requestFulfilledRecord(
  who: AuditContext | undefined,
  at: Date,
  request: ReissueRequestRecord,
  changed: boolean,
): NewAuditRecord {
  return auditRecord(who, at, {
    tenant: request.tenant,
    action: 'reissue_request_fulfilled',
    outcome: changed ? 'ok' : 'no_change',
    keyId: request.keyId,
    details: { request: request.id, dueDate: request.dueDate, onTime: request.onTime },
  });
}

/** A request cancelled by this write (`ok`) or before (`no_change`). */
export function requestCancelledRecord(
  who: AuditContext | undefined,
  at: Date,
  request: ReissueRequestRecord,
  changed: boolean,
): NewAuditRecord {
  return auditRecord(who, at, {
    tenant: request.tenant,
    action: 'reissue_request_cancelled',
    outcome: changed ? 'ok' : 'no_change',
    keyId: null,
    details: { request: request.id, reason: request.cancelReason },
  });
}
