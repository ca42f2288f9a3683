// The one interface both entitlement stores implement (PostgreSQL, embedded file). The contract
// test suite in test/integration/store-contract.ts is its executable specification.
import type { JstDate, Order, OrderHistory, Rejection, RejectionCode } from '../types.js';
import type { AuditContext, AuditPage, AuditQuery, NewAuditRecord } from './audit.js';
import type { StoredKey } from './stored-key.js';

/** A tenant (customer) known to the store; created by its first import. */
export interface TenantRecord {
  id: string;
  name: string | null;
  createdAt: Date;
}

/** Whether the support rules accepted an order, given every order of its tenant. */
export type OrderStatus = 'accepted' | 'rejected';

/** An order as stored: the order, when it was imported, and the rules' verdict. */
export interface StoredOrder extends Order {
  tenant: string;
  importedAt: Date;
  status: OrderStatus;
  /** Set when `status` is 'rejected'. */
  rejection: { code: RejectionCode; message: string } | null;
}

/**
 * What a write changed, so the caller can publish "tenant changed" / "key revoked" to other
 * nodes (issue 4). The store itself knows nothing about Redis.
 */
export interface StoreChanges {
  /** Tenants whose orders, timeline or keys changed. */
  tenants: string[];
  /** Keys revoked by this write. */
  revokedKeys: string[];
}

/** The outcome of `importOrders`, for the orders passed in (deduplicated by id). */
export interface ImportResult {
  tenant: string;
  /** New orders the rules accepted. */
  accepted: string[];
  /** New orders the rules rejected, with the rules' code and message. */
  rejected: Rejection[];
  /** Orders already stored with identical content: nothing was written for them. */
  unchanged: string[];
  /** Orders imported earlier whose status flipped because a new order sorts before them. */
  statusChanged: string[];
  changes: StoreChanges;
}

/** Options of `importOrders`. */
export interface ImportOptions {
  /** The import instant (orders' `importedAt`, a new tenant's `createdAt`); default now. */
  now?: Date;
  /** Sets the tenant's display name. */
  tenantName?: string;
  /** Who imports, for the audit record written with the import. */
  audit?: AuditContext;
}

/** Options of `reissueKey`. */
export interface ReissueKeyOptions {
  /**
   * Compare-and-set: the key this reissue replaces. The write succeeds only while that key is
   * still the tenant's active key, else `key_not_active` and nothing is written. A self-service
   * reissue names its signing key; an admin or CLI reissue (the customer lost the old key) names
   * none and replaces whichever key is active.
   */
  replaces?: string;
  /** Who reissues, for the audit record written with the new key. */
  audit?: AuditContext;
}

/** A new license key to store; the caller (LicenseService) makes the id and secret. */
export interface NewKey {
  keyId: string;
  serverIdentity: string;
  secret: string;
  issuedAt: Date;
  /** The hash of the self-service request that asks for this key (StoredKeyFields.requestHash). */
  requestHash?: string | null;
}

/** The outcome of `issueKey`. */
export interface IssueKeyResult {
  key: StoredKey;
  changes: StoreChanges;
}

/** The outcome of `reissueKey`: the new key and the keys it revoked (usually one). */
export interface ReissueKeyResult {
  key: StoredKey;
  revoked: string[];
  changes: StoreChanges;
}

/** The outcome of `revokeKey`; revoking a revoked key changes nothing (unless it has descendants). */
export interface RevokeKeyResult {
  key: StoredKey;
  /**
   * Every key this write revoked: the key itself (unless it already was) and the key in force if it
   * was made from this one by self-service reissues (`replaces` chain), which its holder could do.
   */
  revoked: string[];
  changes: StoreChanges;
}

/** One tenant's relay usage on one JST day (issue 6: accounting, not metrics). */
export interface UsageRow {
  tenant: string;
  day: JstDate;
  bytesRelayed: number;
  allocationSeconds: number;
}

/** Persistence of tenants, orders, license keys and daily usage. */
export interface EntitlementStore {
  /** 'postgres' or 'file', for logs and readiness. */
  readonly kind: 'postgres' | 'file';

  /**
   * Imports one tenant's orders, idempotent by order id: an identical re-import is a no-op, the
   * same id with different content fails with `order_conflict` and writes nothing. The tenant's
   * timeline is recomputed over all its orders and every order's status stored in the same
   * transaction. Orders are not validated here: parse them with `parseOrderHistory` first.
   */
  importOrders(tenant: string, orders: readonly Order[], options?: ImportOptions): Promise<ImportResult>;

  /** Every order of the tenant (any status) in the rules' input shape, or null for an unknown tenant. */
  orderHistory(tenant: string): Promise<OrderHistory | null>;

  /** Every order of the tenant with its status, sorted by receipt then id; [] for an unknown tenant. */
  listOrders(tenant: string): Promise<StoredOrder[]>;

  /** The tenant, or null. */
  getTenant(tenant: string): Promise<TenantRecord | null>;

  /** All tenants, sorted by id. */
  listTenants(): Promise<TenantRecord[]>;

  /** Stores a first key for a known tenant; `active_key_exists` if it already holds one. */
  issueKey(tenant: string, key: NewKey, audit?: AuditContext): Promise<IssueKeyResult>;

  /**
   * Stores a new key and revokes the tenant's active key(s) at `key.issuedAt`, pointing them at
   * the new key, in one transaction: both happen or neither does. `key.requestHash` is stored
   * with the new key in that transaction, so a reply lost after COMMIT can still be replayed.
   * With `options.replaces`, a compare-and-set on that key (see ReissueKeyOptions). The audit
   * record is written in the same transaction.
   */
  reissueKey(tenant: string, key: NewKey, options?: ReissueKeyOptions): Promise<ReissueKeyResult>;

  /**
   * Revokes a key at `at`, and with it the tenant's key in force when that one descends from it
   * by self-service reissues (see RevokeKeyResult.revoked), under the tenant's lock; `unknown_key`
   * if there is none; nothing changes when both are already revoked. Audited in the same write.
   */
  revokeKey(keyId: string, at: Date, audit?: AuditContext): Promise<RevokeKeyResult>;

  /**
   * Appends audit records that go with no change (replays, refusals of a revoked key), in one
   * durable write.
   */
  recordAudit(records: readonly NewAuditRecord[]): Promise<void>;

  /** A page of the audit trail, oldest first; `invalid_audit_query` for a bad query. */
  listAudit(query: AuditQuery): Promise<AuditPage>;

  /** The key with this id (revoked or not), or null. */
  getKey(keyId: string): Promise<StoredKey | null>;

  /** The tenant's keys, oldest first. */
  listKeys(tenant: string): Promise<StoredKey[]>;

  /** Adds each row's counters to the stored ones for (tenant, day), creating rows as needed. */
  addUsage(rows: readonly UsageRow[]): Promise<void>;

  /** Usage rows with `from <= day <= to` (JST dates), sorted by day then tenant. */
  usage(from: JstDate, to: JstDate): Promise<UsageRow[]>;

  /** Resolves when the store can be read; rejects with `store_unavailable` otherwise. */
  ping(): Promise<void>;

  /** Releases connections, locks and handles. */
  close(): Promise<void>;
}
