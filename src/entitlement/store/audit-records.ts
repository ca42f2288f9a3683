// The audit records of each store write, built the same way by both stores (and by a caller that
// reissues inside its own transaction), so the trail reads alike whatever the backend.
import { type AuditContext, auditRecord, type NewAuditRecord } from './audit.js';
import type { ImportResult, NewKey, ReissueKeyOptions } from './store.js';

/** An import: its new, unchanged and re-judged orders (ids only); `no_change` when nothing was new. */
export function importAuditRecord(
  who: AuditContext | undefined,
  at: Date,
  result: ImportResult,
): NewAuditRecord {
  const changed = result.accepted.length + result.rejected.length + result.statusChanged.length > 0;
  return auditRecord(who, at, {
    tenant: result.tenant,
    action: 'orders_imported',
    outcome: changed || result.changes.tenants.length > 0 ? 'ok' : 'no_change',
    keyId: null,
    details: {
      accepted: result.accepted,
      rejected: result.rejected.map((r) => `${r.order}:${r.code}`),
      unchanged: result.unchanged,
      statusChanged: result.statusChanged,
    },
  });
}

/** A reissue: the new key, its server, the keys it revoked, and the key it replaced by compare-and-set. */
export function reissueAuditRecord(
  options: ReissueKeyOptions,
  tenant: string,
  key: NewKey,
  revoked: readonly string[],
): NewAuditRecord {
  return auditRecord(options.audit, key.issuedAt, {
    tenant,
    action: 'key_reissued',
    outcome: 'ok',
    keyId: key.keyId,
    details: {
      server: key.serverIdentity,
      revoked: [...revoked],
      replaces: options.replaces ?? null,
      idempotencyKey: key.requestHash !== undefined && key.requestHash !== null,
    },
  });
}

/** A revocation: the keys it revoked (the key, and descendants made by its holder); `no_change` if none. */
export function revokeAuditRecord(
  who: AuditContext | undefined,
  at: Date,
  tenant: string,
  keyId: string,
  revoked: readonly string[],
): NewAuditRecord {
  return auditRecord(who, at, {
    tenant,
    action: 'key_revoked',
    outcome: revoked.length === 0 ? 'no_change' : 'ok',
    keyId,
    details: { revoked: [...revoked] },
  });
}

/** The ids a revocation revoked, in the order stores report them: the named key first, then by id. */
export function keyFirst(keyId: string, ids: readonly string[]): string[] {
  return [...ids].sort((a, b) => (a === keyId ? -1 : b === keyId ? 1 : a < b ? -1 : a > b ? 1 : 0));
}
