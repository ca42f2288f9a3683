// PostgreSQL for the store tests: the real server of this machine, a fresh schema per harness,
// dropped afterwards. An unreachable server fails the tests with the command that starts it.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The test database; override with TEST_DATABASE_URL. */
export const TEST_DATABASE_URL =
  process.env['TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

const HOW_TO_START =
  'start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start ' +
  '(or set TEST_DATABASE_URL to a reachable database)';

/** Throws, naming how to start PostgreSQL, unless TEST_DATABASE_URL answers a query. */
export async function requirePostgres(): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (err) {
    throw new Error(
      `PostgreSQL at ${TEST_DATABASE_URL} is not reachable (${(err as Error).message}); ${HOW_TO_START}`,
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** A fresh, unused schema name. */
export function freshSchemaName(prefix = 'test_store'): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

/** Drops a schema created by a test. */
export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

/** Runs one query on the test database (for assertions on the schema itself). */
export async function queryTestDatabase<R extends pg.QueryResultRow>(
  text: string,
  values: unknown[] = [],
): Promise<R[]> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}
