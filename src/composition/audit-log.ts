// Every durable audit record is also logged as one JSON line (component "audit", message
// "audit record"), so log pipelines see the trail as it is written. The record holds no secret;
// the logger's redaction still applies.
import { type AuditListener, auditRecordJson } from '../entitlement/store/index.js';
import type { Logger } from '../log/logger.js';

/** The store's audit listener that logs each record once. */
export function auditLogListener(logger: Logger): AuditListener {
  const log = logger.child({ component: 'audit' });
  return (records) => {
    for (const r of records) log.info('audit record', auditRecordJson(r));
  };
}
