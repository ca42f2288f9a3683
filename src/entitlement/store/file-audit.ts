// The file store's side of the audit trail: records are appended to the next document in the
// same replacement as the change they record (so both are durable together, or neither), and
// read back a page at a time.
import {
  type AuditPage,
  type AuditQuery,
  type AuditRecord,
  auditPageSize,
  type NewAuditRecord,
} from './audit.js';
import type { FileState } from './file-document.js';

/**
 * Appends `records` to `next` (a copy about to be written, never the current state) with the next
 * sequence numbers; answers them stored.
 */
export function appendAudit(next: FileState, records: readonly NewAuditRecord[]): AuditRecord[] {
  const base = next.audit.length;
  const added = records.map((r, i) => ({ ...r, details: { ...r.details }, seq: base + i + 1 }));
  next.audit = [...next.audit, ...added];
  return added;
}

/** One page of the trail for `query`, oldest first. */
export function auditPage(state: FileState, query: AuditQuery): AuditPage {
  const limit = auditPageSize(query);
  const from = query.from?.getTime();
  const to = query.to?.getTime();
  const records: AuditRecord[] = [];
  // seq = position + 1, so the cursor is where to start.
  for (let i = query.after ?? 0; i < state.audit.length; i++) {
    const r = state.audit[i];
    if (r === undefined) break;
    if (query.tenant !== undefined && r.tenant !== query.tenant) continue;
    const at = r.at.getTime();
    if ((from !== undefined && at < from) || (to !== undefined && at >= to)) continue;
    if (records.length === limit) {
      const last = records[records.length - 1];
      return { records, next: last?.seq ?? null };
    }
    records.push({ ...r, details: { ...r.details } });
  }
  return { records, next: null };
}
