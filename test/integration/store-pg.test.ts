// The store contract against the real PostgreSQL, plus what only PostgreSQL has: migrations
// under an advisory lock, schema names, connection failures.
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { openPgStore, openStore, StoreError } from '../../src/entitlement/store/index.js';
import { migrationLockKey } from '../../src/entitlement/store/pg-migrate.js';
import { storeContract } from './store-contract.js';
import {
  dropSchema,
  freshSchemaName,
  queryTestDatabase,
  requirePostgres,
  TEST_DATABASE_URL,
} from './store-pg-harness.js';

// Checked per test, so that without a server every test fails with the way to start it.
storeContract('PostgreSQL', async () => {
  await requirePostgres();
  const schema = freshSchemaName();
  return {
    open: () => openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: '/nonexistent', pgSchema: schema }),
    dispose: () => dropSchema(schema),
  };
});

describe('PostgreSQL store specifics', () => {
  const schemas: string[] = [];
  beforeEach(requirePostgres);
  afterAll(async () => {
    for (const s of schemas) await dropSchema(s);
  });

  it('applies migrations once, records them, and creates the schema', async () => {
    const schema = freshSchemaName();
    schemas.push(schema);
    const stores = await Promise.all(
      [1, 2, 3].map(() => openPgStore({ databaseUrl: TEST_DATABASE_URL, schema })),
    );
    for (const s of stores) await s.close();
    const rows = await queryTestDatabase<{ version: number; name: string }>(
      `SELECT version, name FROM "${schema}".schema_migrations ORDER BY version`,
    );
    expect(rows).toEqual([{ version: 1, name: 'initial' }]);
    const tables = await queryTestDatabase<{ table_name: string }>(
      'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name',
      [schema],
    );
    expect(tables.map((t) => t.table_name)).toEqual([
      'license_keys',
      'orders',
      'schema_migrations',
      'tenant_usage_daily',
      'tenants',
    ]);
  });

  it('refuses a schema migrated by a newer icegate', async () => {
    const schema = freshSchemaName();
    schemas.push(schema);
    await (await openPgStore({ databaseUrl: TEST_DATABASE_URL, schema })).close();
    await queryTestDatabase(
      `INSERT INTO "${schema}".schema_migrations (version, name) VALUES (999, 'future')`,
    );
    const err = await openPgStore({ databaseUrl: TEST_DATABASE_URL, schema }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).code).toBe('store_corrupt');
  });

  it('refuses schema names that are not plain identifiers', async () => {
    const err = await openPgStore({ databaseUrl: TEST_DATABASE_URL, schema: 'x"; DROP TABLE y; --' }).catch(
      (e: unknown) => e,
    );
    expect((err as StoreError).code).toBe('store_misconfigured');
  });

  it('reports an unreachable server as store_unavailable', async () => {
    const err = await openPgStore({ databaseUrl: 'postgres://postgres@127.0.0.1:1/test' }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).code).toBe('store_unavailable');
  });

  it('keys the migration lock by schema, as a signed 64-bit integer', () => {
    const a = BigInt(migrationLockKey('a'));
    expect(a).not.toBe(BigInt(migrationLockKey('b')));
    expect(a >= -(2n ** 63n) && a < 2n ** 63n).toBe(true);
  });
});
