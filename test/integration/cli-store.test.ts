// The store commands of the icegate CLI (import, license issue|reissue|revoke, tenant show)
// against a temporary DATA_DIR and against PostgreSQL (DATABASE_URL + DATABASE_SCHEMA): in
// process for the cases, then through the real compiled bin for exit codes and the environment.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Command, CommanderError } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerAuditCommand } from '../../src/cli/audit-command.js';
import type { CliIo } from '../../src/cli/cli-io.js';
import { EXIT_FAILURE, EXIT_USAGE } from '../../src/cli/program.js';
import {
  cliAuditContext,
  registerStoreCommands,
  storeSettingsFromEnv,
} from '../../src/cli/store-commands.js';
import { openStore } from '../../src/entitlement/store/index.js';
import { parseLicenseKey } from '../../src/licensing/index.js';
import { type ChildBuild, compileForChild } from './store-child-build.js';
import { dropSchema, freshSchemaName, requirePostgres, TEST_DATABASE_URL } from './store-pg-harness.js';

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the store commands in process with `env`, with runCli's exit-code convention. (runCli in
 * program.ts does not hand its io to registerStoreCommands yet, so it cannot inject env here.)
 */
async function cli(args: string[], env: Record<string, string>): Promise<Result> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
    env,
  };
  const program = new Command()
    .name('icegate')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  registerStoreCommands(program, io);
  registerAuditCommand(program, io);
  try {
    await program.parseAsync(args, { from: 'user' });
    return { code: 0, stdout, stderr };
  } catch (err) {
    if (err instanceof CommanderError) return { code: EXIT_USAGE, stdout, stderr };
    stderr += `icegate: ${(err as Error).message}\n`;
    return { code: EXIT_FAILURE, stdout, stderr };
  }
}

const DAY = 86_400_000;
const exampleHistory = {
  tenant: 'acme',
  orders: [
    { id: 'o-1', kind: 'initial', receivedAt: '2026-11-24T10:00:00+09:00', licenses: 50 },
    { id: 'o-2', kind: 'additional', receivedAt: '2027-03-02T09:00:00+09:00', licenses: 10 },
  ],
};

let workDir: string;
async function fileWith(name: string, content: unknown): Promise<string> {
  const path = join(workDir, name);
  await writeFile(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'icegate-cli-store-'));
});
afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

interface Backend {
  name: string;
  env: () => Promise<Record<string, string>>;
  cleanup: () => Promise<void>;
}

const backends: Backend[] = [
  (() => {
    let dir = '';
    return {
      name: 'file store (DATA_DIR)',
      env: async () => {
        dir = await mkdtemp(join(tmpdir(), 'icegate-cli-data-'));
        return { DATA_DIR: dir };
      },
      cleanup: () => rm(dir, { recursive: true, force: true }),
    };
  })(),
  (() => {
    let schema = '';
    return {
      name: 'PostgreSQL (DATABASE_URL, DATABASE_SCHEMA)',
      env: async () => {
        await requirePostgres();
        schema = freshSchemaName('test_cli');
        return { DATABASE_URL: TEST_DATABASE_URL, DATABASE_SCHEMA: schema, DATA_DIR: '/nonexistent/unused' };
      },
      cleanup: async () => {
        if (schema !== '') await dropSchema(schema);
      },
    };
  })(),
];

describe.each(backends)('store commands on $name', (backend) => {
  let env: Record<string, string>;
  beforeAll(async () => {
    env = await backend.env();
  });
  afterAll(() => backend.cleanup());

  it('imports an order history, idempotently', async () => {
    const file = await fileWith('example.json', exampleHistory);
    const first = await cli(['import', file], env);
    expect(first.code).toBe(0);
    // How running nodes learn of the change (no Redis here): DATA_DIR's notice file in embedded
    // mode, their cache lifetimes with PostgreSQL.
    expect(first.stderr).toMatch(
      env['DATABASE_URL'] === undefined
        ? /^icegate: a running node using DATA_DIR=.* \(without Redis\) applies this within a second/
        : /^icegate: no REDIS_URL: running nodes see this change when their cached answers expire/,
    );
    expect(JSON.parse(first.stdout)).toEqual({
      tenant: 'acme',
      accepted: ['o-1', 'o-2'],
      rejected: [],
      unchanged: [],
      statusChanged: [],
    });
    const again = await cli(['import', file], env);
    expect(JSON.parse(again.stdout)).toMatchObject({ accepted: [], rejected: [], unchanged: ['o-1', 'o-2'] });
  });

  it('reports rejected orders with their codes and still exits 0', async () => {
    const file = await fileWith('rejected.json', {
      tenant: 'acme',
      orders: [{ id: 'o-3', kind: 'initial', receivedAt: '2027-04-01T09:00:00+09:00', licenses: 5 }],
    });
    const r = await cli(['import', file], env);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).rejected).toEqual([
      expect.objectContaining({ order: 'o-3', code: 'already_initialised' }),
    ]);
  });

  it('refuses a reused order id with different content (order_conflict)', async () => {
    const file = await fileWith('conflict.json', {
      tenant: 'acme',
      orders: [{ ...exampleHistory.orders[0], licenses: 99 }],
    });
    const r = await cli(['import', file], env);
    expect(r.code).toBe(EXIT_FAILURE);
    expect(r.stderr).toMatch(/^icegate: order_conflict: order o-1 of tenant acme/);
    expect(r.stdout).toBe('');
  });

  it.each([
    ['not JSON', '{"tenant": "acme", "orders": [', /not valid JSON/],
    [
      'a bad order',
      { tenant: 'acme', orders: [{ id: 'x-1', kind: 'initial', receivedAt: 'yesterday', licenses: 1 }] },
      /x-1/,
    ],
    [
      'an unknown kind',
      {
        tenant: 'acme',
        orders: [{ id: 'x-2', kind: 'upgrade', receivedAt: '2027-01-01T00:00:00Z', licenses: 1 }],
      },
      /kind/,
    ],
  ])('refuses a malformed file: %s', async (_name, content, message) => {
    const file = await fileWith('bad.json', content);
    const r = await cli(['import', file], env);
    expect(r.code).toBe(EXIT_FAILURE);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain('bad.json');
  });

  it('refuses a missing file, naming it', async () => {
    const r = await cli(['import', join(workDir, 'nope.json')], env);
    expect(r.code).toBe(EXIT_FAILURE);
    expect(r.stderr).toContain('nope.json');
  });

  it('shows a tenant: periods, entitlement at an instant, no keys yet', async () => {
    const r = await cli(['tenant', 'show', 'acme', '--at', '2027-03-05T00:00:00+09:00'], env);
    expect(r.code).toBe(0);
    const shown = JSON.parse(r.stdout);
    expect(shown.periods).toEqual([
      {
        order: 'o-1',
        kind: 'initial',
        serviceFrom: '2026-11-24',
        start: '2026-12-01',
        end: '2027-11-30',
        licenses: 50,
      },
      {
        order: 'o-2',
        kind: 'additional',
        serviceFrom: '2027-03-02',
        start: '2027-03-02',
        end: '2027-11-30',
        licenses: 10,
      },
    ]);
    expect(shown.rejected).toEqual([expect.objectContaining({ order: 'o-3', code: 'already_initialised' })]);
    expect(shown.entitlement).toEqual({
      at: '2027-03-04T15:00:00.000Z',
      active: true,
      state: 'active',
      licenses: 60,
      until: '2027-11-30',
    });
    expect(shown.keys).toEqual([]);
  });

  it('issues, reissues and revokes keys; tenant show lists them without secrets', async () => {
    // Support active now: an initial order received ten days ago.
    const now = Date.now();
    const file = await fileWith('live.json', {
      tenant: 'live',
      orders: [
        { id: 'l-1', kind: 'initial', receivedAt: new Date(now - 10 * DAY).toISOString(), licenses: 3 },
      ],
    });
    expect((await cli(['import', file], env)).code).toBe(0);

    const issued = await cli(['license', 'issue', 'live', '--server', 'neo-old.example.jp'], env);
    expect(issued.code).toBe(0);
    const first = JSON.parse(issued.stdout);
    expect(parseLicenseKey(first.key)?.keyId).toBe(first.keyId);
    expect(first).toMatchObject({ tenant: 'live', serverIdentity: 'neo-old.example.jp' });

    const twice = await cli(['license', 'issue', 'live', '--server', 'other'], env);
    expect(twice.code).toBe(EXIT_FAILURE);
    expect(twice.stderr).toContain('active_key_exists');

    const reissued = await cli(['license', 'reissue', 'live', '--server', 'neo-new.example.jp'], env);
    expect(reissued.code).toBe(0);
    const second = JSON.parse(reissued.stdout);
    expect(second.revoked).toEqual([first.keyId]);
    expect(second.keyId).not.toBe(first.keyId);
    expect(parseLicenseKey(second.key)?.keyId).toBe(second.keyId);

    const shown = await cli(['tenant', 'show', 'live'], env);
    const view = JSON.parse(shown.stdout);
    expect(view.entitlement).toMatchObject({ active: true, state: 'active', licenses: 3 });
    expect(
      view.keys.map((k: { keyId: string; revokedAt: string | null; replacedBy: string | null }) => [
        k.keyId,
        k.revokedAt !== null,
        k.replacedBy,
      ]),
    ).toEqual([
      [first.keyId, true, second.keyId],
      [second.keyId, false, null],
    ]);
    for (const key of [first.key, second.key]) {
      const secret = parseLicenseKey(key)!.secret;
      expect(shown.stdout).not.toContain(secret);
    }

    const revoked = await cli(['license', 'revoke', second.keyId], env);
    expect(revoked.code).toBe(0);
    expect(JSON.parse(revoked.stdout)).toMatchObject({
      keyId: second.keyId,
      tenant: 'live',
      alreadyRevoked: false,
    });
    const again = await cli(['license', 'revoke', second.keyId], env);
    expect(JSON.parse(again.stdout)).toMatchObject({ keyId: second.keyId, alreadyRevoked: true });

    const whole = await cli(['license', 'revoke', first.key], env);
    expect(whole.code).toBe(EXIT_FAILURE);
    expect(whole.stderr).toContain('invalid_key_id');
    expect(whole.stderr).not.toContain(parseLicenseKey(first.key)!.secret);

    // The keys in the store are the ones printed.
    const store = await openStore(storeSettingsFromEnv(env).store);
    try {
      expect((await store.getKey(second.keyId))?.secret).toBe(parseLicenseKey(second.key)?.secret);
    } finally {
      await store.close();
    }
  });

  it('records each CLI operation in the audit trail as cli:<OS user>; icegate audit pages it', async () => {
    const actor = cliAuditContext(env).actor;
    expect(actor).toMatch(/^cli:.+/);
    const shown = await cli(['audit', '--tenant', 'live'], env);
    expect(shown).toMatchObject({ code: 0, stderr: '' });
    const page = JSON.parse(shown.stdout) as {
      records: { seq: number; action: string; outcome: string; actor: string; client: string | null }[];
      next: number | null;
    };
    expect(page.next).toBeNull();
    // The refused second issue (active_key_exists) wrote nothing, so has no record.
    expect(page.records.map((r) => [r.action, r.outcome])).toEqual([
      ['orders_imported', 'ok'],
      ['key_issued', 'ok'],
      ['key_reissued', 'ok'],
      ['key_revoked', 'ok'],
      ['key_revoked', 'no_change'],
    ]);
    for (const r of page.records) expect(r).toMatchObject({ actor, client: null });
    const first = JSON.parse((await cli(['audit', '--tenant', 'live', '--limit', '2'], env)).stdout);
    expect(first.records).toHaveLength(2);
    const rest = JSON.parse(
      (await cli(['audit', '--tenant', 'live', '--after', String(first.next), '--limit', '1000'], env))
        .stdout,
    );
    expect([...first.records, ...rest.records]).toEqual(page.records);
    const future = JSON.parse((await cli(['audit', '--from', '2999-01-01T00:00:00Z'], env)).stdout);
    expect(future).toEqual({ records: [], next: null });
    for (const bad of [
      ['--limit', '0'],
      ['--after', '-1'],
      ['--from', '2027-01-01'],
    ]) {
      const refused = await cli(['audit', ...bad], env);
      expect(refused.code).toBe(EXIT_FAILURE);
      expect(refused.stderr).toContain('invalid_audit_query');
    }
  });

  it('refuses reissue when support has ended (support_inactive) and changes nothing', async () => {
    const file = await fileWith('old.json', {
      tenant: 'old',
      orders: [{ id: 'x-1', kind: 'initial', receivedAt: '2020-01-10T10:00:00+09:00', licenses: 3 }],
    });
    await cli(['import', file], env);
    expect((await cli(['license', 'issue', 'old', '--server', 'a'], env)).code).toBe(0);
    const r = await cli(['license', 'reissue', 'old', '--server', 'b'], env);
    expect(r.code).toBe(EXIT_FAILURE);
    expect(r.stderr).toContain('support_inactive');
    expect(r.stdout).toBe('');
    const keys = JSON.parse((await cli(['tenant', 'show', 'old'], env)).stdout).keys;
    expect(keys.map((k: { revokedAt: string | null }) => k.revokedAt)).toEqual([null]);
  });

  it('allows reissue in grace: --grace-days, else SUPPORT_GRACE_DAYS', async () => {
    // Support ended between 25 and 56 days ago.
    const file = await fileWith('lapsed.json', {
      tenant: 'lapsed',
      orders: [
        {
          id: 'x-1',
          kind: 'initial',
          receivedAt: new Date(Date.now() - 420 * DAY).toISOString(),
          licenses: 3,
        },
      ],
    });
    await cli(['import', file], env);
    expect((await cli(['license', 'issue', 'lapsed', '--server', 'a'], env)).code).toBe(0);
    expect((await cli(['license', 'reissue', 'lapsed', '--server', 'b'], env)).stderr).toContain(
      'support_inactive',
    );
    const byOption = await cli(['license', 'reissue', 'lapsed', '--server', 'b', '--grace-days', '90'], env);
    expect(byOption.code).toBe(0);
    expect(JSON.parse(byOption.stdout).revoked).toHaveLength(1);
    const byEnv = await cli(['license', 'reissue', 'lapsed', '--server', 'c'], {
      ...env,
      SUPPORT_GRACE_DAYS: '90',
    });
    expect(byEnv.code).toBe(0);
    const shown = JSON.parse((await cli(['tenant', 'show', 'lapsed', '--grace-days', '90'], env)).stdout);
    expect(shown.entitlement.state).toBe('grace');
    expect(shown.keys.filter((k: { revokedAt: string | null }) => k.revokedAt === null)).toHaveLength(1);
    const bad = await cli(['license', 'reissue', 'lapsed', '--server', 'd', '--grace-days', '1000'], env);
    expect(bad.code).toBe(EXIT_FAILURE);
    expect(bad.stderr).toContain('--grace-days');
  });

  it.each([
    [['tenant', 'show', 'nobody'], /unknown_tenant: unknown tenant nobody/],
    [['license', 'issue', 'nobody', '--server', 'x'], /unknown_tenant/],
    [['license', 'reissue', 'nobody', '--server', 'x'], /unknown_tenant/],
    [['license', 'revoke', 'lk_aaaaaaaaaaaaaaaaaaaa'], /unknown_key/],
    [['license', 'revoke', 'k-1'], /invalid_key_id/],
    [['license', 'issue', 'acme', '--server', ''], /invalid_server_identity/],
    [['tenant', 'show', 'acme', '--at', '2027-03-05'], /--at: .*no UTC offset/],
    [['tenant', 'show', 'acme', '--grace-days', 'many'], /--grace-days must be a whole number/],
  ])('fails with a clear message: %j', async (args, message) => {
    const r = await cli(args, env);
    expect(r.code).toBe(EXIT_FAILURE);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  });

  it.each([[['license', 'issue', 'acme']], [['import']], [['tenant', 'show']], [['license', 'revoke']]])(
    'reports a usage error for %j',
    async (args) => {
      const r = await cli(args, env);
      expect(r.code).toBe(EXIT_USAGE);
      expect(r.stderr).toMatch(/error: (missing required argument|required option)/);
    },
  );
});

describe('store settings from the environment', () => {
  beforeAll(requirePostgres);
  it('uses DATA_DIR (default ./data) without DATABASE_URL, and treats empty values as unset', () => {
    expect(storeSettingsFromEnv({})).toEqual({ store: { dataDir: './data' }, graceDays: 0 });
    expect(storeSettingsFromEnv({ DATABASE_URL: '', DATA_DIR: '/d', SUPPORT_GRACE_DAYS: '3' })).toEqual({
      store: { dataDir: '/d' },
      graceDays: 3,
    });
    expect(storeSettingsFromEnv({ DATABASE_URL: 'postgres://h/db', DATABASE_SCHEMA: 's1' }).store).toEqual({
      dataDir: './data',
      databaseUrl: 'postgres://h/db',
      pgSchema: 's1',
    });
    expect(() => storeSettingsFromEnv({ SUPPORT_GRACE_DAYS: '-1' })).toThrow(/SUPPORT_GRACE_DAYS/);
  });

  it('refuses a DATABASE_SCHEMA that is not a plain identifier', async () => {
    const r = await cli(['tenant', 'show', 'acme'], {
      DATABASE_URL: TEST_DATABASE_URL,
      DATABASE_SCHEMA: 'a-b',
    });
    expect(r.code).toBe(EXIT_FAILURE);
    expect(r.stderr).toContain('store_misconfigured');
  });

  it('reports an unreachable database as store_unavailable', async () => {
    const r = await cli(['tenant', 'show', 'acme'], { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/test' });
    expect(r.code).toBe(EXIT_FAILURE);
    expect(r.stderr).toContain('store_unavailable');
  });
});

describe('the real icegate bin', () => {
  let build: ChildBuild;
  const run = promisify(execFile);
  const schema = freshSchemaName('test_cli_bin');
  let dataDir: string;

  beforeAll(async () => {
    await requirePostgres();
    build = await compileForChild('src/cli/main.ts');
    dataDir = await mkdtemp(join(tmpdir(), 'icegate-cli-bin-'));
  }, 170_000);
  afterAll(async () => {
    if (build !== undefined) await rm(build.dir, { recursive: true, force: true });
    await rm(dataDir, { recursive: true, force: true });
    await dropSchema(schema).catch(() => undefined);
  });

  async function bin(args: string[], env: Record<string, string>): Promise<Result> {
    const base = { PATH: process.env['PATH'] ?? '/usr/bin:/bin' };
    return run(process.execPath, [build.script, ...args], { env: { ...base, ...env }, timeout: 30_000 }).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (err: { code: number; stdout: string; stderr: string }) => ({
        code: err.code,
        stdout: err.stdout,
        stderr: err.stderr,
      }),
    );
  }

  it.each([
    ['DATA_DIR', () => ({ DATA_DIR: dataDir })],
    ['DATABASE_URL', () => ({ DATABASE_URL: TEST_DATABASE_URL, DATABASE_SCHEMA: schema })],
  ])('imports, issues and shows through the environment (%s)', async (_name, envOf) => {
    const env = envOf();
    const file = await fileWith('bin.json', exampleHistory);
    const imported = await bin(['import', file], env);
    expect(imported.code).toBe(0);
    expect(JSON.parse(imported.stdout).accepted).toEqual(['o-1', 'o-2']);
    const issued = await bin(['license', 'issue', 'acme', '--server', 'neo.example.jp'], env);
    expect(issued.code).toBe(0);
    const { keyId, key } = JSON.parse(issued.stdout);
    const shown = await bin(['tenant', 'show', 'acme', '--at', '2027-03-05T00:00:00+09:00'], env);
    expect(JSON.parse(shown.stdout).keys.map((k: { keyId: string }) => k.keyId)).toEqual([keyId]);
    expect(shown.stdout).not.toContain(parseLicenseKey(key)!.secret);
  });

  it('exits 1 with a message for a malformed file and an unknown tenant, 2 for bad usage', async () => {
    const env = { DATA_DIR: dataDir };
    const bad = await bin(['import', await fileWith('broken.json', '{')], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^icegate: .*broken\.json is not valid JSON/);
    const unknown = await bin(['tenant', 'show', 'nobody'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('unknown_tenant');
    const usage = await bin(['license', 'issue', 'acme'], env);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("required option '--server <identity>' not specified");
  });
});
