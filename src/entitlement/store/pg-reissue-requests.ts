// The reissue-request queue in PostgreSQL (table reissue_requests, migration 4). A fulfilment locks
// the request's row (SELECT ... FOR UPDATE), then reissues with PgStore.reissueKeyIn in the same
// transaction: a second staff member's fulfilment waits on that lock and finds the request
// fulfilled, so one key is made. Lock order is always request, then tenant (reissueKeyIn), and no
// other write locks a request after its tenant, so the queue adds no deadlock.
import type { AuditContext } from './audit.js';
import { StoreError } from './errors.js';
import { closed, referenceConflict } from './file-reissue-requests.js';
import { quoteIdentifier } from './pg-migrate.js';
import type { PgStore, PgTransaction } from './pg-store.js';
import {
  requestCancelledRecord,
  requestFulfilledRecord,
  requestReceivedRecord,
} from './reissue-request-audit.js';
import {
  type AddRequestResult,
  type FulfilRequestResult,
  fulfilledOnTime,
  type NewReissueRequest,
  type OpenRequestCounts,
  type ReissueRequestQuery,
  type ReissueRequestRecord,
  type ReissueRequestStore,
  type StoredRequestState,
} from './reissue-requests.js';
import type { NewKey } from './store.js';

interface RequestRow {
  id: string;
  tenant_id: string;
  server: string;
  reference: string | null;
  received_at: Date;
  due_date: string;
  state: StoredRequestState;
  fulfilled_at: Date | null;
  on_time: boolean | null;
  key_id: string | null;
  cancelled_at: Date | null;
  cancel_reason: string | null;
}

const COLUMNS = `id, tenant_id, server, reference, received_at, due_date::text AS due_date, state,
  fulfilled_at, on_time, key_id, cancelled_at, cancel_reason`;

function fromRow(r: RequestRow): ReissueRequestRecord {
  return {
    id: r.id,
    tenant: r.tenant_id,
    server: r.server,
    reference: r.reference,
    receivedAt: r.received_at,
    dueDate: r.due_date,
    state: r.state,
    fulfilledAt: r.fulfilled_at,
    onTime: r.on_time,
    keyId: r.key_id,
    cancelledAt: r.cancelled_at,
    cancelReason: r.cancel_reason,
  };
}

/** The queue over a PgStore (same pool, same schema). */
export class PgReissueRequests implements ReissueRequestStore {
  readonly #store: PgStore;
  readonly #table: string;
  readonly #tenants: string;

  constructor(store: PgStore) {
    this.#store = store;
    const q = quoteIdentifier(store.schema);
    this.#table = `${q}.reissue_requests`;
    this.#tenants = `${q}.tenants`;
  }

  addRequest(request: NewReissueRequest, audit?: AuditContext): Promise<AddRequestResult> {
    return this.#store.transaction(async (tx) => {
      const tenant = await tx.client.query(`SELECT 1 FROM ${this.#tenants} WHERE id = $1`, [request.tenant]);
      if (tenant.rowCount === 0) {
        throw new StoreError('unknown_tenant', `unknown tenant ${request.tenant}: import its orders first`);
      }
      // ON CONFLICT DO NOTHING waits for a concurrent insert of the same reference, then yields.
      const inserted = await tx.client.query<RequestRow>(
        `INSERT INTO ${this.#table} (id, tenant_id, server, reference, received_at, due_date, state)
         VALUES ($1, $2, $3, $4, $5, $6, 'pending') ON CONFLICT (tenant_id, reference) DO NOTHING
         RETURNING ${COLUMNS}`,
        [request.id, request.tenant, request.server, request.reference, request.receivedAt, request.dueDate],
      );
      const row = inserted.rows[0];
      if (row !== undefined) {
        const stored = fromRow(row);
        await tx.audit([requestReceivedRecord(audit, request.receivedAt, stored, true)]);
        return { request: stored, created: true };
      }
      const existing = await tx.client.query<RequestRow>(
        `SELECT ${COLUMNS} FROM ${this.#table} WHERE tenant_id = $1 AND reference = $2`,
        [request.tenant, request.reference],
      );
      const before = existing.rows[0];
      if (before === undefined) throw new Error('reissue request vanished after a reference conflict');
      const stored = fromRow(before);
      if (stored.server !== request.server) throw referenceConflict(stored);
      await tx.audit([requestReceivedRecord(audit, request.receivedAt, stored, false)]);
      return { request: stored, created: false };
    });
  }

  async listRequests(query: ReissueRequestQuery = {}): Promise<ReissueRequestRecord[]> {
    const r = await this.#store.read<RequestRow>(
      `SELECT ${COLUMNS} FROM ${this.#table}
       WHERE ($1::text IS NULL OR tenant_id = $1) AND ($2::text[] IS NULL OR state = ANY($2))
       ORDER BY due_date, received_at, id COLLATE "C"`,
      [query.tenant ?? null, query.states === undefined ? null : [...query.states]],
    );
    return r.rows.map(fromRow);
  }

  async getRequest(id: string): Promise<ReissueRequestRecord | null> {
    const r = await this.#store.read<RequestRow>(`SELECT ${COLUMNS} FROM ${this.#table} WHERE id = $1`, [id]);
    const row = r.rows[0];
    return row === undefined ? null : fromRow(row);
  }

  async #lock(tx: PgTransaction, id: string): Promise<ReissueRequestRecord> {
    const r = await tx.client.query<RequestRow>(
      `SELECT ${COLUMNS} FROM ${this.#table} WHERE id = $1 FOR UPDATE`,
      [id],
    );
    const row = r.rows[0];
    if (row === undefined) throw new StoreError('unknown_reissue_request', `no reissue request has id ${id}`);
    return fromRow(row);
  }

  fulfilRequest(id: string, key: NewKey, audit?: AuditContext): Promise<FulfilRequestResult> {
    return this.#store.transaction(async (tx) => {
      const request = await this.#lock(tx, id);
      if (request.state === 'cancelled') throw closed(request);
      if (request.state === 'fulfilled') {
        await tx.audit([requestFulfilledRecord(audit, key.issuedAt, request, false)]);
        return { request, reissue: null };
      }
      const reissue = await this.#store.reissueKeyIn(
        tx,
        request.tenant,
        { ...key, serverIdentity: request.server },
        audit === undefined ? {} : { audit },
      );
      const r = await tx.client.query<RequestRow>(
        `UPDATE ${this.#table} SET state = 'fulfilled', fulfilled_at = $2, on_time = $3, key_id = $4
         WHERE id = $1 RETURNING ${COLUMNS}`,
        [id, key.issuedAt, fulfilledOnTime(key.issuedAt, request.dueDate), key.keyId],
      );
      const row = r.rows[0];
      if (row === undefined) throw new Error('UPDATE ... RETURNING returned no row');
      const done = fromRow(row);
      await tx.audit([requestFulfilledRecord(audit, key.issuedAt, done, true)]);
      return { request: done, reissue };
    });
  }

  cancelRequest(id: string, reason: string, at: Date, audit?: AuditContext): Promise<ReissueRequestRecord> {
    return this.#store.transaction(async (tx) => {
      const request = await this.#lock(tx, id);
      if (request.state === 'fulfilled') throw closed(request);
      if (request.state === 'cancelled') {
        await tx.audit([requestCancelledRecord(audit, at, request, false)]);
        return request;
      }
      const r = await tx.client.query<RequestRow>(
        `UPDATE ${this.#table} SET state = 'cancelled', cancelled_at = $2, cancel_reason = $3
         WHERE id = $1 RETURNING ${COLUMNS}`,
        [id, at, reason],
      );
      const row = r.rows[0];
      if (row === undefined) throw new Error('UPDATE ... RETURNING returned no row');
      const done = fromRow(row);
      await tx.audit([requestCancelledRecord(audit, at, done, true)]);
      return done;
    });
  }

  async countOpen(today: string): Promise<OpenRequestCounts> {
    const r = await this.#store.read<{ pending: string; overdue: string }>(
      `SELECT count(*) FILTER (WHERE due_date >= $1::date) AS pending,
              count(*) FILTER (WHERE due_date < $1::date) AS overdue
       FROM ${this.#table} WHERE state = 'pending'`,
      [today],
    );
    const row = r.rows[0];
    return { pending: Number(row?.pending ?? 0), overdue: Number(row?.overdue ?? 0) };
  }
}
