// The entitlement store: one interface, a PostgreSQL and an embedded file implementation.

import type { AuditListener } from './audit.js';
import { FileReissueRequests } from './file-reissue-requests.js';
import { FileStore, openFileStore } from './file-store.js';
import { PgReissueRequests } from './pg-reissue-requests.js';
import { openPgStore, PgStore } from './pg-store.js';
import type { ReissueRequestStore } from './reissue-requests.js';
import type { EntitlementStore } from './store.js';

export {
  AUDIT_ACTIONS,
  AUDIT_PAGE_DEFAULT,
  AUDIT_PAGE_MAX,
  type AuditAction,
  type AuditContext,
  type AuditDetails,
  type AuditListener,
  type AuditOutcome,
  type AuditPage,
  type AuditQuery,
  type AuditRecord,
  auditRecord,
  auditRecordJson,
  type NewAuditRecord,
} from './audit.js';
export { isStoreError, StoreError, type StoreErrorCode } from './errors.js';
export { type FileStore, type FileStoreOptions, openFileStore } from './file-store.js';
export { openPgStore, type PgStore, type PgStoreOptions } from './pg-store.js';
export type * from './reissue-requests.js';
export { fulfilledOnTime } from './reissue-requests.js';
export type * from './store.js';
export { type PublicKeyView, REDACTED, StoredKey, type StoredKeyFields } from './stored-key.js';

/** Where the store lives: PostgreSQL when `databaseUrl` is set, else a file store in `dataDir`. */
export interface OpenStoreOptions {
  databaseUrl?: string;
  /** The file store's directory (DATA_DIR, default './data'); unused with a database. */
  dataDir: string;
  /** The PostgreSQL schema (default 'public'); unused without a database. */
  pgSchema?: string;
  /** Errors of idle PostgreSQL connections, for logging. */
  onPoolError?: (err: Error) => void;
  /** Told each durable write's audit records (the node logs each as one JSON line). */
  onAudit?: AuditListener;
}

/** Opens the configured store, applying migrations (PostgreSQL) or creating DATA_DIR (file). */
export async function openStore(options: OpenStoreOptions): Promise<EntitlementStore> {
  if (options.databaseUrl !== undefined && options.databaseUrl !== '') {
    return openPgStore({
      databaseUrl: options.databaseUrl,
      ...(options.pgSchema === undefined ? {} : { schema: options.pgSchema }),
      ...(options.onPoolError === undefined ? {} : { onPoolError: options.onPoolError }),
      ...(options.onAudit === undefined ? {} : { onAudit: options.onAudit }),
    });
  }
  return openFileStore({
    dataDir: options.dataDir,
    ...(options.onAudit === undefined ? {} : { onAudit: options.onAudit }),
  });
}

/** The reissue-request queue kept in `store` (issue 21). */
export function reissueRequestsOf(store: EntitlementStore): ReissueRequestStore {
  if (store instanceof PgStore) return new PgReissueRequests(store);
  if (store instanceof FileStore) return new FileReissueRequests(store);
  throw new Error(`no reissue-request queue for a ${store.kind} store of this shape`);
}
