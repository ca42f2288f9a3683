// The PostgreSQL entitlement store (DATABASE_URL). Writes that must agree run in one
// transaction; writes to one tenant serialise on its row (SELECT ... FOR UPDATE), so
// concurrent imports or reissues on any number of nodes see each other's results. Every write
// inserts its audit record in its own transaction (pg-audit.ts).
import type pg from 'pg';
import type { Order, OrderHistory, RejectionCode } from '../types.js';
import {
  type AuditContext,
  type AuditListener,
  type AuditPage,
  type AuditQuery,
  type AuditRecord,
  auditRecord,
  type NewAuditRecord,
} from './audit.js';
import { importAuditRecord, keyFirst, reissueAuditRecord, revokeAuditRecord } from './audit-records.js';
import { StoreError } from './errors.js';
import { orderOnly, planImport } from './order-import.js';
import { insertAuditRecords, selectAuditPage } from './pg-audit.js';
import { mapPgError } from './pg-errors.js';
import { checkSchemaName, migrate, quoteIdentifier } from './pg-migrate.js';
import { withSessionOptions } from './pg-session.js';
import type {
  EntitlementStore,
  ImportOptions,
  ImportResult,
  IssueKeyResult,
  NewKey,
  ReissueKeyOptions,
  ReissueKeyResult,
  RevokeKeyResult,
  StoredOrder,
  TenantRecord,
  UsageRow,
} from './store.js';
import { StoredKey } from './stored-key.js';
import { checkUsageRange, checkUsageRows } from './usage-rows.js';

/** Options of the PostgreSQL store. */
export interface PgStoreOptions {
  databaseUrl: string;
  /** The schema holding icegate's tables; created if missing. Default 'public'. */
  schema?: string;
  /** Pool size; default 10. */
  poolMax?: number;
  /** Errors of idle pooled connections (e.g. the server restarted); default: ignored. */
  onPoolError?: (err: Error) => void;
  /** Told the audit records of each write once it has committed (the process logs them). */
  onAudit?: AuditListener;
}

type Client = pg.PoolClient;

/**
 * One open transaction of the store: its connection, and `audit`, which inserts records in it
 * (reported to `onAudit` only once the transaction commits). Other writes that must commit with a
 * reissue and its record (the reissue-request queue) take one from `PgStore.transaction`.
 */
export interface PgTransaction {
  readonly client: Client;
  audit(records: readonly NewAuditRecord[]): Promise<void>;
}

interface OrderRow {
  order_id: string;
  kind: Order['kind'];
  received_at: Date;
  licenses: number;
  certificate_start: string | null;
  certificate_end: string | null;
  imported_at: Date;
  status: 'accepted' | 'rejected';
  rejection_code: RejectionCode | null;
  rejection_message: string | null;
}

interface KeyRow {
  key_id: string;
  tenant_id: string;
  server_identity: string;
  secret: string;
  issued_at: Date;
  revoked_at: Date | null;
  replaced_by: string | null;
  request_hash: string | null;
}

interface TenantRow {
  id: string;
  name: string | null;
  created_at: Date;
}

const KEY_COLUMNS =
  'key_id, tenant_id, server_identity, secret, issued_at, revoked_at, replaced_by, request_hash';
// Dates are read with to_char: ::text would follow the session's DateStyle (pg-session.ts).
const ORDER_COLUMNS = `order_id, kind, received_at, licenses,
  to_char(certificate_start, 'YYYY-MM-DD') AS certificate_start,
  to_char(certificate_end, 'YYYY-MM-DD') AS certificate_end,
  imported_at, status, rejection_code, rejection_message`;

function keyFromRow(r: KeyRow): StoredKey {
  return new StoredKey({
    keyId: r.key_id,
    tenant: r.tenant_id,
    serverIdentity: r.server_identity,
    secret: r.secret,
    issuedAt: r.issued_at,
    revokedAt: r.revoked_at,
    replacedBy: r.replaced_by,
    requestHash: r.request_hash,
  });
}

function orderFromRow(tenant: string, r: OrderRow): StoredOrder {
  const order: StoredOrder = {
    tenant,
    id: r.order_id,
    kind: r.kind,
    receivedAt: r.received_at.toISOString(),
    licenses: r.licenses,
    importedAt: r.imported_at,
    status: r.status,
    rejection:
      r.rejection_code === null ? null : { code: r.rejection_code, message: r.rejection_message ?? '' },
  };
  if (r.certificate_start !== null && r.certificate_end !== null) {
    order.certificate = { start: r.certificate_start, end: r.certificate_end };
  }
  return order;
}

function tenantFromRow(r: TenantRow): TenantRecord {
  return { id: r.id, name: r.name, createdAt: r.created_at };
}

/** Connects, applies migrations, and returns the store; `store_unavailable` if PostgreSQL is down. */
export async function openPgStore(options: PgStoreOptions): Promise<PgStore> {
  const schema = options.schema ?? 'public';
  checkSchemaName(schema);
  // Loaded here, not at module load: an embedded node never pays for pg's module graph.
  const { default: pgModule } = await import('pg');
  const pool = new pgModule.Pool({
    connectionString: withSessionOptions(options.databaseUrl),
    max: options.poolMax ?? 10,
    connectionTimeoutMillis: 5_000,
    application_name: 'icegate',
  });
  pool.on('error', options.onPoolError ?? (() => undefined));
  try {
    await migrate(pool, schema);
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw err;
  }
  return new PgStore(pool, schema, options.onAudit);
}

/** The PostgreSQL store: see the file comment. Construct with `openPgStore`. */
export class PgStore implements EntitlementStore {
  readonly kind = 'postgres' as const;
  /** The schema holding the tables. */
  readonly schema: string;
  readonly #pool: pg.Pool;
  readonly #t: { tenants: string; orders: string; keys: string; usage: string; audit: string };
  readonly #onAudit: AuditListener | undefined;
  #closed = false;

  constructor(pool: pg.Pool, schema: string, onAudit?: AuditListener) {
    this.#pool = pool;
    this.schema = schema;
    this.#onAudit = onAudit;
    const q = quoteIdentifier(schema);
    this.#t = {
      tenants: `${q}.tenants`,
      orders: `${q}.orders`,
      keys: `${q}.license_keys`,
      usage: `${q}.tenant_usage_daily`,
      audit: `${q}.audit_log`,
    };
  }

  async #query<R extends pg.QueryResultRow>(
    text: string,
    values: unknown[] = [],
  ): Promise<pg.QueryResult<R>> {
    try {
      return await this.#pool.query<R>(text, values);
    } catch (err) {
      throw mapPgError(err);
    }
  }

  /** One read outside any transaction, for code that keeps its own tables here (the reissue queue). */
  read<R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<pg.QueryResult<R>> {
    return this.#query<R>(text, values);
  }

  /**
   * Runs `work` between BEGIN and COMMIT; any throw rolls everything back. The audit records it
   * inserted are reported to `onAudit` after the COMMIT.
   */
  async transaction<T>(work: (tx: PgTransaction) => Promise<T>): Promise<T> {
    let client: Client;
    try {
      client = await this.#pool.connect();
    } catch (err) {
      throw mapPgError(err);
    }
    let broken = false;
    // pg-pool removes its idle error listener while a client is checked out: a connection reset
    // between two queries of this transaction would otherwise be an uncaught 'error' event.
    const onError = () => {
      broken = true;
    };
    client.on('error', onError);
    const written: AuditRecord[] = [];
    const table = this.#t.audit;
    const tx: PgTransaction = {
      client,
      async audit(records) {
        written.push(...(await insertAuditRecords(client, table, records)));
      },
    };
    try {
      await client.query('BEGIN');
      const result = await work(tx);
      await client.query('COMMIT');
      if (written.length > 0) this.#onAudit?.(written);
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      throw mapPgError(err);
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }

  /** Locks the tenant's row for the rest of the transaction; `unknown_tenant` if there is none. */
  async #lockTenant(client: Client, tenant: string): Promise<TenantRow> {
    const r = await client.query<TenantRow>(
      `SELECT id, name, created_at FROM ${this.#t.tenants} WHERE id = $1 FOR UPDATE`,
      [tenant],
    );
    const row = r.rows[0];
    if (row === undefined)
      throw new StoreError('unknown_tenant', `unknown tenant ${tenant}: import its orders first`);
    return row;
  }

  importOrders(tenant: string, orders: readonly Order[], options: ImportOptions = {}): Promise<ImportResult> {
    const now = options.now ?? new Date();
    return this.transaction(async ({ client, audit }) => {
      const created = await client.query(
        `INSERT INTO ${this.#t.tenants} (id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING`,
        [tenant, options.tenantName ?? null, now],
      );
      const row = await this.#lockTenant(client, tenant);
      const existing = await client.query<OrderRow>(
        `SELECT ${ORDER_COLUMNS} FROM ${this.#t.orders} WHERE tenant_id = $1`,
        [tenant],
      );
      const plan = planImport(
        tenant,
        existing.rows.map((r) => orderFromRow(tenant, r)),
        orders,
        now,
      );
      let renamed = false;
      if (options.tenantName !== undefined && row.name !== options.tenantName) {
        await client.query(`UPDATE ${this.#t.tenants} SET name = $2 WHERE id = $1`, [
          tenant,
          options.tenantName,
        ]);
        renamed = true;
      }
      for (const o of plan.inserts) {
        await client.query(
          `INSERT INTO ${this.#t.orders} (tenant_id, order_id, kind, received_at, licenses, certificate_start,
             certificate_end, imported_at, status, rejection_code, rejection_message)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
          [
            tenant,
            o.id,
            o.kind,
            o.receivedAt,
            o.licenses,
            o.certificate?.start ?? null,
            o.certificate?.end ?? null,
            o.importedAt,
            o.status,
            o.rejection?.code ?? null,
            o.rejection?.message ?? null,
          ],
        );
      }
      for (const u of plan.statusUpdates) {
        await client.query(
          `UPDATE ${this.#t.orders} SET status = $3, rejection_code = $4, rejection_message = $5
           WHERE tenant_id = $1 AND order_id = $2`,
          [tenant, u.id, u.status, u.rejection?.code ?? null, u.rejection?.message ?? null],
        );
      }
      const changes =
        created.rowCount === 1 || renamed ? { tenants: [tenant], revokedKeys: [] } : plan.result.changes;
      const result = { ...plan.result, changes };
      await audit([importAuditRecord(options.audit, now, result)]);
      return result;
    });
  }

  async orderHistory(tenant: string): Promise<OrderHistory | null> {
    if ((await this.getTenant(tenant)) === null) return null;
    return { tenant, orders: (await this.listOrders(tenant)).map(orderOnly) };
  }

  async listOrders(tenant: string): Promise<StoredOrder[]> {
    const r = await this.#query<OrderRow>(
      `SELECT ${ORDER_COLUMNS} FROM ${this.#t.orders} WHERE tenant_id = $1 ORDER BY received_at, order_id COLLATE "C"`,
      [tenant],
    );
    return r.rows.map((row) => orderFromRow(tenant, row));
  }

  async getTenant(tenant: string): Promise<TenantRecord | null> {
    const r = await this.#query<TenantRow>(
      `SELECT id, name, created_at FROM ${this.#t.tenants} WHERE id = $1`,
      [tenant],
    );
    const row = r.rows[0];
    return row === undefined ? null : tenantFromRow(row);
  }

  async listTenants(): Promise<TenantRecord[]> {
    const r = await this.#query<TenantRow>(
      `SELECT id, name, created_at FROM ${this.#t.tenants} ORDER BY id COLLATE "C"`,
    );
    return r.rows.map(tenantFromRow);
  }

  issueKey(tenant: string, key: NewKey, who?: AuditContext): Promise<IssueKeyResult> {
    return this.transaction(async ({ client, audit }) => {
      await this.#lockTenant(client, tenant);
      const active = await client.query<{ key_id: string }>(
        `SELECT key_id FROM ${this.#t.keys} WHERE tenant_id = $1 AND revoked_at IS NULL`,
        [tenant],
      );
      const current = active.rows[0];
      if (current !== undefined) {
        throw new StoreError(
          'active_key_exists',
          `tenant ${tenant} already has an active license key ${current.key_id}; reissue it instead`,
        );
      }
      const inserted = await this.#insertKey(client, tenant, key, null);
      await audit([
        auditRecord(who, key.issuedAt, {
          tenant,
          action: 'key_issued',
          outcome: 'ok',
          keyId: key.keyId,
          details: { server: key.serverIdentity },
        }),
      ]);
      return { key: inserted, changes: { tenants: [tenant], revokedKeys: [] } };
    });
  }

  reissueKey(tenant: string, key: NewKey, options: ReissueKeyOptions = {}): Promise<ReissueKeyResult> {
    return this.transaction((tx) => this.reissueKeyIn(tx, tenant, key, options));
  }

  /**
   * `reissueKey` inside the caller's transaction (which must be this store's): the tenant's row
   * is locked for the rest of it, the compare-and-set, the new key and its audit record are
   * written in it.
   */
  async reissueKeyIn(
    tx: PgTransaction,
    tenant: string,
    key: NewKey,
    options: ReissueKeyOptions = {},
  ): Promise<ReissueKeyResult> {
    const { client } = tx;
    await this.#lockTenant(client, tenant);
    // Revoke first: the one-active-key index would refuse the new key otherwise. A failure of
    // the insert below (e.g. a key id collision) rolls the revocation back. With `replaces`, only
    // that key, and only while it is the active one: under the tenant's lock, no other reissue or
    // revocation of this tenant can come between this check and the COMMIT.
    const replaces = options.replaces ?? null;
    const revoked = await client.query<{ key_id: string }>(
      `UPDATE ${this.#t.keys} SET revoked_at = $2, replaced_by = $3
       WHERE tenant_id = $1 AND revoked_at IS NULL AND ($4::text IS NULL OR key_id = $4) RETURNING key_id`,
      [tenant, key.issuedAt, key.keyId, replaces],
    );
    if (replaces !== null && revoked.rowCount === 0) {
      throw new StoreError(
        'key_not_active',
        `license key ${replaces} is no longer the active key of tenant ${tenant}; nothing was reissued`,
      );
    }
    const inserted = await this.#insertKey(client, tenant, key, replaces);
    const ids = revoked.rows.map((r) => r.key_id).sort();
    await tx.audit([reissueAuditRecord(options, tenant, key, ids)]);
    return { key: inserted, revoked: ids, changes: { tenants: [tenant], revokedKeys: ids } };
  }

  async #insertKey(client: Client, tenant: string, key: NewKey, replaces: string | null): Promise<StoredKey> {
    const r = await client.query<KeyRow>(
      `INSERT INTO ${this.#t.keys} (key_id, tenant_id, server_identity, secret, issued_at, request_hash, replaces)
       VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${KEY_COLUMNS}`,
      [key.keyId, tenant, key.serverIdentity, key.secret, key.issuedAt, key.requestHash ?? null, replaces],
    );
    const row = r.rows[0];
    if (row === undefined) throw new Error('INSERT ... RETURNING returned no row');
    return keyFromRow(row);
  }

  revokeKey(keyId: string, at: Date, who?: AuditContext): Promise<RevokeKeyResult> {
    return this.transaction(async ({ client, audit }) => {
      const owner = await client.query<{ tenant_id: string }>(
        `SELECT tenant_id FROM ${this.#t.keys} WHERE key_id = $1`,
        [keyId],
      );
      const tenant = owner.rows[0]?.tenant_id;
      if (tenant === undefined) throw new StoreError('unknown_key', `no license key has id ${keyId}`);
      // The tenant's lock orders this revocation against its reissues: a self-service reissue
      // signed with this key either committed before (its key is in the chain below and revoked
      // here) or comes after and finds its signing key revoked.
      await this.#lockTenant(client, tenant);
      const r = await client.query<{ key_id: string }>(
        `WITH RECURSIVE chain(key_id) AS (
           SELECT key_id FROM ${this.#t.keys} WHERE key_id = $1
           UNION
           SELECT k.key_id FROM ${this.#t.keys} k JOIN chain c ON k.replaces = c.key_id
         )
         UPDATE ${this.#t.keys} SET revoked_at = $2
         WHERE key_id IN (SELECT key_id FROM chain) AND revoked_at IS NULL RETURNING key_id`,
        [keyId, at],
      );
      const ids = keyFirst(
        keyId,
        r.rows.map((x) => x.key_id),
      );
      const read = await client.query<KeyRow>(
        `SELECT ${KEY_COLUMNS} FROM ${this.#t.keys} WHERE key_id = $1`,
        [keyId],
      );
      const row = read.rows[0];
      if (row === undefined) throw new StoreError('unknown_key', `no license key has id ${keyId}`);
      await audit([revokeAuditRecord(who, at, tenant, keyId, ids)]);
      return {
        key: keyFromRow(row),
        revoked: ids,
        changes:
          ids.length === 0 ? { tenants: [], revokedKeys: [] } : { tenants: [tenant], revokedKeys: ids },
      };
    });
  }

  recordAudit(records: readonly NewAuditRecord[]): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    return this.transaction((tx) => tx.audit(records));
  }

  async listAudit(query: AuditQuery): Promise<AuditPage> {
    try {
      return await selectAuditPage(this.#pool, this.#t.audit, query);
    } catch (err) {
      throw mapPgError(err);
    }
  }

  async getKey(keyId: string): Promise<StoredKey | null> {
    const r = await this.#query<KeyRow>(`SELECT ${KEY_COLUMNS} FROM ${this.#t.keys} WHERE key_id = $1`, [
      keyId,
    ]);
    const row = r.rows[0];
    return row === undefined ? null : keyFromRow(row);
  }

  async listKeys(tenant: string): Promise<StoredKey[]> {
    const r = await this.#query<KeyRow>(
      `SELECT ${KEY_COLUMNS} FROM ${this.#t.keys} WHERE tenant_id = $1 ORDER BY issued_at, key_id COLLATE "C"`,
      [tenant],
    );
    return r.rows.map(keyFromRow);
  }

  async addUsage(rows: readonly UsageRow[]): Promise<void> {
    checkUsageRows(rows);
    // One statement cannot upsert the same key twice, and a fixed row order keeps two
    // concurrent flushes from deadlocking: merge, then sort.
    const merged = new Map<string, UsageRow>();
    for (const row of rows) {
      const k = `${row.tenant}\n${row.day}`;
      const before = merged.get(k);
      merged.set(k, {
        tenant: row.tenant,
        day: row.day,
        bytesRelayed: (before?.bytesRelayed ?? 0) + row.bytesRelayed,
        allocationSeconds: (before?.allocationSeconds ?? 0) + row.allocationSeconds,
      });
    }
    const sorted = [...merged.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, r]) => r);
    if (sorted.length === 0) return;
    await this.#query(
      `INSERT INTO ${this.#t.usage} AS u (tenant_id, day, bytes_relayed, allocation_seconds)
       SELECT * FROM unnest($1::text[], $2::date[], $3::bigint[], $4::bigint[])
       ON CONFLICT (tenant_id, day) DO UPDATE SET
         bytes_relayed = u.bytes_relayed + EXCLUDED.bytes_relayed,
         allocation_seconds = u.allocation_seconds + EXCLUDED.allocation_seconds`,
      [
        sorted.map((r) => r.tenant),
        sorted.map((r) => r.day),
        sorted.map((r) => String(r.bytesRelayed)),
        sorted.map((r) => String(r.allocationSeconds)),
      ],
    );
  }

  async usage(from: string, to: string): Promise<UsageRow[]> {
    checkUsageRange(from, to);
    const r = await this.#query<{
      tenant_id: string;
      day: string;
      bytes_relayed: string;
      allocation_seconds: string;
    }>(
      `SELECT tenant_id, to_char(day, 'YYYY-MM-DD') AS day, bytes_relayed, allocation_seconds FROM ${this.#t.usage}
       WHERE day BETWEEN $1::date AND $2::date ORDER BY day, tenant_id COLLATE "C"`,
      [from, to],
    );
    return r.rows.map((row) => ({
      tenant: row.tenant_id,
      day: row.day,
      bytesRelayed: Number(row.bytes_relayed),
      allocationSeconds: Number(row.allocation_seconds),
    }));
  }

  async ping(): Promise<void> {
    await this.#query('SELECT 1');
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.end();
  }
}
