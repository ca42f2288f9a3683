// The store contract against the real PostgreSQL, plus what only PostgreSQL has: migrations
// under an advisory lock, schema names, connection failures.
import pg from 'pg';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { openPgStore, openStore, StoreError } from '../../src/entitlement/store/index.js';
import { MIGRATIONS } from '../../src/entitlement/store/migrations/index.js';
import { migrate, migrationLockKey } from '../../src/entitlement/store/pg-migrate.js';
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
    open: (options = {}) =>
      openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: '/nonexistent', pgSchema: schema, ...options }),
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
    expect(rows).toEqual([
      { version: 1, name: 'initial' },
      { version: 2, name: 'reissue-request-hash' },
      { version: 3, name: 'audit-trail' },
      { version: 4, name: 'reissue-requests' },
    ]);
    const tables = await queryTestDatabase<{ table_name: string }>(
      'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name',
      [schema],
    );
    expect(tables.map((t) => t.table_name)).toEqual([
      'audit_log',
      'license_keys',
      'orders',
      'reissue_requests',
      'schema_migrations',
      'tenant_usage_daily',
      'tenants',
    ]);
  });

  it('upgrades a schema of the first release: its keys read without a request hash, new ones store it', async () => {
    const schema = freshSchemaName();
    schemas.push(schema);
    const pool = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 1 });
    try {
      expect(await migrate(pool, schema, MIGRATIONS.slice(0, 1))).toEqual([1]);
    } finally {
      await pool.end();
    }
    await queryTestDatabase(
      `INSERT INTO "${schema}".tenants (id, name, created_at) VALUES ('acme', NULL, now())`,
    );
    await queryTestDatabase(
      `INSERT INTO "${schema}".license_keys (key_id, tenant_id, server_identity, secret, issued_at)
       VALUES ('lk_aaaaaaaaaaaaaaaaaaaa', 'acme', 'neo.example.jp', 'secret-of-old', now())`,
    );
    const store = await openPgStore({ databaseUrl: TEST_DATABASE_URL, schema });
    try {
      const old = await store.getKey('lk_aaaaaaaaaaaaaaaaaaaa');
      expect(old?.secret).toBe('secret-of-old');
      expect(old?.requestHash).toBeNull();
      const hash = 'd4'.repeat(32);
      const result = await store.reissueKey('acme', {
        keyId: 'lk_bbbbbbbbbbbbbbbbbbbb',
        serverIdentity: 'new-host',
        secret: 'secret-of-new',
        issuedAt: new Date(),
        requestHash: hash,
      });
      expect(result.revoked).toEqual(['lk_aaaaaaaaaaaaaaaaaaaa']);
      expect((await store.getKey('lk_bbbbbbbbbbbbbbbbbbbb'))?.requestHash).toBe(hash);
    } finally {
      await store.close();
    }
    const rows = await queryTestDatabase<{ version: number }>(
      `SELECT version FROM "${schema}".schema_migrations ORDER BY version`,
    );
    expect(rows.map((r) => r.version)).toEqual([1, 2, 3, 4]);
    // The column refuses anything that is not a SHA-256 hex digest.
    await expect(
      queryTestDatabase(`UPDATE "${schema}".license_keys SET request_hash = 'not-a-hash'`),
    ).rejects.toThrow(/check constraint/);
  });

  it('upgrades a version-3 schema to 4: audit rows kept, the queue actions accepted, others still refused', async () => {
    const schema = freshSchemaName();
    schemas.push(schema);
    const pool = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 1 });
    try {
      expect(await migrate(pool, schema, MIGRATIONS.slice(0, 3))).toEqual([1, 2, 3]);
    } finally {
      await pool.end();
    }
    await queryTestDatabase(
      `INSERT INTO "${schema}".audit_log (at, tenant_id, action, outcome, actor) VALUES (now(), 'acme', 'key_issued', 'ok', 'cli:ops')`,
    );
    const store = await openPgStore({ databaseUrl: TEST_DATABASE_URL, schema });
    await store.close();
    const audit = await queryTestDatabase<{ action: string }>(`SELECT action FROM "${schema}".audit_log`);
    expect(audit.map((r) => r.action)).toEqual(['key_issued']);
    await queryTestDatabase(
      `INSERT INTO "${schema}".audit_log (at, tenant_id, action, outcome, actor) VALUES (now(), 'acme', 'reissue_request_fulfilled', 'ok', 'cli:ops')`,
    );
    await expect(
      queryTestDatabase(
        `INSERT INTO "${schema}".audit_log (at, tenant_id, action, outcome, actor) VALUES (now(), 'acme', 'made_up', 'ok', 'x')`,
      ),
    ).rejects.toThrow(/check constraint/);
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
