// The PostgreSQL side of the audit trail: the insert every write uses inside its own transaction
// (so a change and its record commit together), and the paginated read.
import type pg from 'pg';
import {
  type AuditAction,
  type AuditDetails,
  type AuditOutcome,
  type AuditPage,
  type AuditQuery,
  type AuditRecord,
  auditPageSize,
  type NewAuditRecord,
} from './audit.js';

interface AuditRow {
  seq: string;
  at_ms: number;
  tenant_id: string | null;
  action: AuditAction;
  outcome: AuditOutcome;
  actor: string;
  client: string | null;
  key_id: string | null;
  details: AuditDetails;
}

// The instant as epoch milliseconds: read the same whatever the session's DateStyle.
const COLUMNS =
  'seq, (extract(epoch FROM at) * 1000)::float8 AS at_ms, tenant_id, action, outcome, actor, client, key_id, details';

function fromRow(r: AuditRow): AuditRecord {
  return {
    seq: Number(r.seq),
    at: new Date(Math.round(r.at_ms)),
    tenant: r.tenant_id,
    action: r.action,
    outcome: r.outcome,
    actor: r.actor,
    client: r.client,
    keyId: r.key_id,
    details: r.details,
  };
}

/** Something that runs a query: a pooled client inside a transaction, or the pool itself. */
export type Queryable = Pick<pg.PoolClient, 'query'>;

/**
 * Inserts `records` with `db` (a client inside the caller's transaction, so they commit or roll
 * back with its change) into `table` (the schema-qualified audit_log); answers them stored.
 */
export async function insertAuditRecords(
  db: Queryable,
  table: string,
  records: readonly NewAuditRecord[],
): Promise<AuditRecord[]> {
  if (records.length === 0) return [];
  const r = await db.query<AuditRow>(
    `INSERT INTO ${table} (at, tenant_id, action, outcome, actor, client, key_id, details)
     SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                          $7::text[], $8::jsonb[])
     RETURNING ${COLUMNS}`,
    [
      records.map((x) => x.at),
      records.map((x) => x.tenant),
      records.map((x) => x.action),
      records.map((x) => x.outcome),
      records.map((x) => x.actor),
      records.map((x) => x.client),
      records.map((x) => x.keyId),
      records.map((x) => JSON.stringify(x.details)),
    ],
  );
  return r.rows.map(fromRow).sort((a, b) => a.seq - b.seq);
}

/** One page of `table` for `query`, oldest first (by seq). */
export async function selectAuditPage(db: Queryable, table: string, query: AuditQuery): Promise<AuditPage> {
  const limit = auditPageSize(query);
  const where: string[] = [];
  const values: unknown[] = [];
  const bind = (v: unknown) => {
    values.push(v);
    return `$${values.length}`;
  };
  if (query.tenant !== undefined) where.push(`tenant_id = ${bind(query.tenant)}`);
  if (query.from !== undefined) where.push(`at >= ${bind(query.from)}`);
  if (query.to !== undefined) where.push(`at < ${bind(query.to)}`);
  if (query.after !== undefined) where.push(`seq > ${bind(query.after)}`);
  const r = await db.query<AuditRow>(
    `SELECT ${COLUMNS} FROM ${table} ${where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`}
     ORDER BY seq LIMIT ${bind(limit + 1)}`,
    values,
  );
  const records = r.rows.slice(0, limit).map(fromRow);
  const last = records[records.length - 1];
  return { records, next: r.rows.length > limit && last !== undefined ? last.seq : null };
}
