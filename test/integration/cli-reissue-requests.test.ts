// `icegate reissue-requests add|list|fulfil|cancel` on the file store (temp DATA_DIR) and on
// PostgreSQL (DATABASE_URL + a fresh DATABASE_SCHEMA), in process through runCli: the due date is
// the one `icegate reissue-due --at` prints for the receipt instant, `list --at` shows a request
// overdue from the first instant after its due date, `fulfil` prints the new key once and revokes
// the old one, `cancel` needs a reason, and each step is in the audit trail as cli:<user>.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../../src/cli/cli-io.js';
import { runCli } from '../../src/cli/program.js';
import { cliAuditContext } from '../../src/cli/store-commands.js';
import { type EntitlementStore, openStore } from '../../src/entitlement/store/index.js';
import { LicenseService } from '../../src/licensing/index.js';
import { dropSchema, freshSchemaName, requirePostgres, TEST_DATABASE_URL } from './store-pg-harness.js';

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

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
  const code = await runCli(args, io);
  return { code, stdout, stderr };
}

type Env = Record<string, string>;
interface Backend {
  env: Env;
  dispose(): Promise<void>;
}

const backends: [string, () => Promise<Backend>][] = [
  [
    'the file store',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'icegate-cli-rr-'));
      return { env: { DATA_DIR: dir }, dispose: () => rm(dir, { recursive: true, force: true }) };
    },
  ],
  [
    'PostgreSQL',
    async () => {
      await requirePostgres();
      const schema = freshSchemaName('test_cli_rr');
      return {
        env: { DATABASE_URL: TEST_DATABASE_URL, DATABASE_SCHEMA: schema },
        dispose: () => dropSchema(schema),
      };
    },
  ],
];

describe.each(backends)('icegate reissue-requests on %s', (_name, make) => {
  let backend: Backend;
  let store: EntitlementStore;
  let oldKeyId: string;

  beforeAll(async () => {
    backend = await make();
    store = await openStore({
      dataDir: backend.env['DATA_DIR'] ?? '',
      ...(backend.env['DATABASE_URL'] === undefined
        ? {}
        : { databaseUrl: backend.env['DATABASE_URL'], pgSchema: backend.env['DATABASE_SCHEMA'] }),
    });
    // Support active at the real now, whatever day the test runs.
    const receivedAt = new Date(Date.now() - 10 * 86_400_000).toISOString();
    await store.importOrders('acme', [{ id: 'o-1', kind: 'initial', receivedAt, licenses: 5 }]);
    oldKeyId = (await new LicenseService(store).issue('acme', 'neo.acme.example.jp')).issued.keyId;
  });
  afterAll(async () => {
    await store?.close();
    await backend?.dispose();
  });

  it.each([
    '2025-12-26T18:00:00+09:00',
    '2026-08-12T17:00:00+09:00',
    '2026-08-12T17:00:00.001+09:00',
    '2026-05-01T18:00:00+09:00',
    '2026-07-04T10:00:00+09:00',
  ])('add --received-at %s gives the due date reissue-due prints', async (at) => {
    const due = await cli(['reissue-due', '--at', at], backend.env);
    const added = await cli(
      [
        'reissue-requests',
        'add',
        '--tenant',
        'acme',
        '--server',
        'neo2.acme.example.jp',
        '--received-at',
        at,
      ],
      backend.env,
    );
    expect(added.stderr).toBe('');
    expect(added.code).toBe(0);
    const request = JSON.parse(added.stdout);
    expect(request.dueDate).toBe(JSON.parse(due.stdout).due);
    expect(request).toMatchObject({ tenant: 'acme', state: 'overdue', created: true });
  });

  it('the year-end closing: Friday 2025-12-26 after 17:00 is due Monday 2026-01-05; overdue from the next instant', async () => {
    const added = await cli(
      [
        'reissue-requests',
        'add',
        '--tenant',
        'acme',
        '--server',
        'ye.acme.example.jp',
        '--received-at',
        '2025-12-26T17:30:00+09:00',
        '--reference',
        'form-ye',
      ],
      backend.env,
    );
    const request = JSON.parse(added.stdout);
    expect(request.dueDate).toBe('2026-01-05');
    const listAt = async (at: string, state: string) =>
      JSON.parse(
        (
          await cli(
            ['reissue-requests', 'list', '--tenant', 'acme', '--state', state, '--at', at],
            backend.env,
          )
        ).stdout,
      ).requests.map((r: { id: string }) => r.id);
    expect(await listAt('2026-01-05T23:59:59.999+09:00', 'pending')).toContain(request.id);
    expect(await listAt('2026-01-05T23:59:59.999+09:00', 'overdue')).not.toContain(request.id);
    expect(await listAt('2026-01-06T00:00:00+09:00', 'overdue')).toContain(request.id);
    const again = await cli(
      [
        'reissue-requests',
        'add',
        '--tenant',
        'acme',
        '--server',
        'other.example.jp',
        '--reference',
        'form-ye',
      ],
      backend.env,
    );
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/reissue_request_conflict: server: /);
  });

  it('fulfil prints the key once and revokes the old key; cancel needs a reason; all audited as cli:<user>', async () => {
    const added = JSON.parse(
      (
        await cli(
          ['reissue-requests', 'add', '--tenant', 'acme', '--server', 'moved.acme.example.jp'],
          backend.env,
        )
      ).stdout,
    );
    const first = await cli(['reissue-requests', 'fulfil', added.id], backend.env);
    expect(first.code).toBe(0);
    const out = JSON.parse(first.stdout);
    expect(out).toMatchObject({ state: 'fulfilled', onTime: true, revoked: [oldKeyId] });
    expect(out.key.startsWith(`${out.keyId}.`)).toBe(true);
    const repeat = JSON.parse((await cli(['reissue-requests', 'fulfil', added.id], backend.env)).stdout);
    expect(repeat).not.toHaveProperty('key');
    expect(repeat.keyId).toBe(out.keyId);
    expect((await store.getKey(oldKeyId))?.revoked).toBe(true);
    expect((await store.getKey(out.keyId))?.serverIdentity).toBe('moved.acme.example.jp');

    const pending = JSON.parse(
      (await cli(['reissue-requests', 'list', '--state', 'overdue'], backend.env)).stdout,
    ).requests;
    expect((await cli(['reissue-requests', 'cancel', pending[0].id], backend.env)).code).toBe(2);
    const cancelled = await cli(
      ['reissue-requests', 'cancel', pending[0].id, '--reason', 'test data'],
      backend.env,
    );
    expect(JSON.parse(cancelled.stdout)).toMatchObject({ state: 'cancelled', cancelReason: 'test data' });
    const closed = await cli(['reissue-requests', 'fulfil', pending[0].id], backend.env);
    expect(closed.stderr).toMatch(/reissue_request_closed/);
    const done = JSON.parse((await cli(['reissue-requests', 'list', '--state', 'done'], backend.env)).stdout);
    expect(done.requests.map((r: { state: string }) => r.state).sort()).toEqual(['cancelled', 'fulfilled']);

    const actor = cliAuditContext({}).actor;
    const audit = await store.listAudit({ tenant: 'acme', limit: 1000 });
    const mine = audit.records.filter(
      (r) => r.action.startsWith('reissue_request') || r.action === 'key_reissued',
    );
    expect(mine.every((r) => r.actor === actor)).toBe(true);
    expect(mine.filter((r) => r.action === 'reissue_request_fulfilled').map((r) => r.outcome)).toEqual([
      'ok',
      'no_change',
    ]);
    expect(mine.filter((r) => r.action === 'reissue_request_cancelled').map((r) => r.outcome)).toEqual([
      'ok',
    ]);
    expect(JSON.stringify(audit.records)).not.toContain(out.key.slice(out.key.indexOf('.') + 1));
  });
});
