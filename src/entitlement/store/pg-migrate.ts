// Applies the numbered migrations to one PostgreSQL schema at start. Everything runs in one
// transaction under a transaction-level advisory lock keyed by the schema, so nodes starting
// together apply each migration exactly once and a failed migration leaves nothing behind.
import { createHash } from 'node:crypto';
import type { Pool } from 'pg';
import { StoreError } from './errors.js';
import { MIGRATIONS, type Migration } from './migrations/index.js';
import { mapPgError } from './pg-errors.js';

const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** Throws unless `schema` is a plain identifier (letters, digits, underscore; at most 63). */
export function checkSchemaName(schema: string): void {
  if (!SCHEMA_NAME.test(schema)) {
    throw new StoreError(
      'store_misconfigured',
      `PostgreSQL schema name ${JSON.stringify(schema)} must be letters, digits and underscores (at most 63)`,
    );
  }
}

/** The schema name as a quoted SQL identifier. */
export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** The advisory lock key for one schema's migrations: 64 bits of a hash, as a signed bigint. */
export function migrationLockKey(schema: string): string {
  return createHash('sha256').update(`icegate:migrations:${schema}`).digest().readBigInt64BE(0).toString();
}

/** Creates `schema` if needed and applies missing migrations; returns the versions applied now. */
export async function migrate(
  pool: Pool,
  schema: string,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<number[]> {
  checkSchemaName(schema);
  const q = quoteIdentifier(schema);
  const client = await pool.connect().catch((err: unknown) => {
    throw mapPgError(err);
  });
  let broken = false;
  // Checked-out clients have no pool error listener: keep a reset from becoming uncaught.
  const onError = () => {
    broken = true;
  };
  client.on('error', onError);
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1::bigint)', [migrationLockKey(schema)]);
    const exists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    if (exists.rowCount === 0) await client.query(`CREATE SCHEMA ${q}`);
    await client.query(`SET LOCAL search_path TO ${q}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS schema_migrations (
         version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const done = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
    const applied = new Set(done.rows.map((r) => r.version));
    const newest = Math.max(0, ...applied);
    const known = Math.max(0, ...migrations.map((m) => m.version));
    if (newest > known) {
      throw new StoreError(
        'store_corrupt',
        `schema ${schema} is at migration ${newest}, newer than this icegate knows (${known})`,
      );
    }
    const now: number[] = [];
    for (const m of migrations) {
      if (applied.has(m.version)) continue;
      await client.query(m.sql);
      await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [
        m.version,
        m.name,
      ]);
      now.push(m.version);
    }
    await client.query('COMMIT');
    return now;
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
