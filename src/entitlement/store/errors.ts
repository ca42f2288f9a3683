// Errors of the entitlement stores. Callers (CLI, admin API, the gate) match on `code`, never on text.

/** Stable codes of store failures. */
export type StoreErrorCode =
  /** The same order id was imported before with different content. */
  | 'order_conflict'
  /** The tenant has never been imported. */
  | 'unknown_tenant'
  /** No license key has this id. */
  | 'unknown_key'
  /** A license key with this id already exists. */
  | 'key_conflict'
  /** The tenant already holds an active key; a second one needs a reissue. */
  | 'active_key_exists'
  /**
   * A reissue named the key it replaces, and that key is no longer the tenant's active key (it
   * was revoked or replaced meanwhile): nothing was written.
   */
  | 'key_not_active'
  /** No reissue request has this id. */
  | 'unknown_reissue_request'
  /** A form reference already queued for the tenant with a different server. */
  | 'reissue_request_conflict'
  /** The reissue request was cancelled (fulfil) or fulfilled (cancel): it is closed. */
  | 'reissue_request_closed'
  /** An audit query with a bad page size, cursor or instant. */
  | 'invalid_audit_query'
  /** A usage row that is not a tenant, a JST day and two non-negative integers. */
  | 'invalid_usage'
  /** The database or the data directory cannot be reached or written. */
  | 'store_unavailable'
  /** Another process holds the data directory's write lock for too long. */
  | 'store_locked'
  /** The stored document or schema is not one this version understands. */
  | 'store_corrupt'
  /** The store's configuration (schema name, URL) is not usable. */
  | 'store_misconfigured';

/** A store failure with a stable code; `cause` keeps the driver or file-system error. */
export class StoreError extends Error {
  override readonly name = 'StoreError';
  readonly code: StoreErrorCode;

  constructor(code: StoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** True when `err` is a StoreError, optionally with the given code. */
export function isStoreError(err: unknown, code?: StoreErrorCode): err is StoreError {
  return err instanceof StoreError && (code === undefined || err.code === code);
}
