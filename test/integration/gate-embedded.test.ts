// Embedded mode (issue 4): a node with no DATABASE_URL, REDIS_URL or secrets in a fresh
// DATA_DIR generates its TURN secret and admin-token secret at first start, hands them to
// onFirstStart once, and keeps them; the admin token works against /v1/admin; `icegate
// admin-token` mints more from DATA_DIR. The README path runs here too: the example order
// history (examples/acme-orders.json, which must stay active) imported with the CLI while the
// node runs, a key issued with the CLI, a tenant JWT, ICE servers, a relay allocation; the
// allocation quota holds per node without Redis.
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import jwt from 'jsonwebtoken';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../../src/cli/cli-io.js';
import { runCli } from '../../src/cli/program.js';
import { entitlementAt, parseOrderHistory } from '../../src/entitlement/rules/index.js';
import { PORTS } from '../helpers/ports.js';
import { TurnClient } from '../helpers/turn-client.js';
import { type GateNode, iceServers, startGateNode, tenantToken, turnCredential } from './gate-harness.js';

const EXAMPLE = resolve(import.meta.dirname, '../../examples/acme-orders.json');

interface FirstStart {
  turnSecret: string;
  adminToken: string;
  dataDir: string;
}

let dataDir: string;
let gate: GateNode | null = null;
const firstStarts: FirstStart[] = [];
const clients: TurnClient[] = [];
/** The TURN credential the README path got, reused after the restart. */
let firstRunCredential: { username: string; password: string } | null = null;

async function start(env: Record<string, string> = {}): Promise<GateNode> {
  return startGateNode(
    PORTS.gateEmbedded,
    { DATA_DIR: dataDir, TURN_ALLOCATIONS_PER_LICENSE: '1', ...env },
    { onFirstStart: (info) => firstStarts.push(info) },
  );
}

/** Runs the icegate CLI in process with `env`. */
async function cli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    env,
  };
  const code = await runCli(args, io);
  return { code, stdout, stderr };
}

async function adminGet(url: string, token: string): Promise<number> {
  const response = await fetch(`${url}/v1/admin/tenants`, { headers: { authorization: `Bearer ${token}` } });
  await response.arrayBuffer();
  return response.status;
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'icegate-embedded-'));
  gate = await start();
}, 30_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await gate?.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('embedded mode', () => {
  it('generates the secrets at first start, keeps them in DATA_DIR and hands them over once', async () => {
    expect(firstStarts).toHaveLength(1);
    const info = firstStarts[0]!;
    expect(info.dataDir).toBe(dataDir);
    expect(gate!.node.store.kind).toBe('file');
    expect(gate!.node.fleetQuota).toBeNull();
    const file = join(dataDir, 'secrets.json');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const stored = JSON.parse(await readFile(file, 'utf8')) as {
      turnSecret: string;
      adminTokenSecret: string;
    };
    expect(stored.turnSecret).toBe(info.turnSecret);
    // The admin token handed over is signed with the stored admin secret and carries the admin scope.
    const claims = jwt.verify(info.adminToken, stored.adminTokenSecret, {
      algorithms: ['HS256'],
    }) as jwt.JwtPayload;
    expect(claims.scope).toBe('admin');
    expect(claims.exp! - Math.floor(Date.now() / 1000)).toBeGreaterThan(29 * 86_400);
  });

  it('accepts the first-start admin token on /v1/admin and refuses a forged one', async () => {
    expect(await adminGet(gate!.url, firstStarts[0]!.adminToken)).toBe(200);
    const forged = jwt.sign({ scope: 'admin', exp: Math.floor(Date.now() / 1000) + 60 }, 'x'.repeat(40));
    expect(await adminGet(gate!.url, forged)).toBe(401);
  });

  it('mints admin tokens with `icegate admin-token` from DATA_DIR or ADMIN_TOKEN_SECRET', async () => {
    const minted = await cli(['admin-token'], { DATA_DIR: dataDir });
    expect(minted.code).toBe(0);
    const token = minted.stdout.trim();
    expect(token.split('.')).toHaveLength(3);
    expect(await adminGet(gate!.url, token)).toBe(200);

    const short = await cli(['admin-token', '--ttl', '1h', '--json', '--subject', 'ops'], {
      DATA_DIR: dataDir,
    });
    const shortBody = JSON.parse(short.stdout) as { token: string; expiresAt: string; subject: string };
    expect(shortBody.subject).toBe('ops');
    expect(Math.abs(Date.parse(shortBody.expiresAt) - (Date.now() + 3_600_000))).toBeLessThan(5_000);
    expect(await adminGet(gate!.url, shortBody.token)).toBe(200);

    // ADMIN_TOKEN_SECRET wins over DATA_DIR: this node does not know that secret.
    const other = await cli(['admin-token'], { DATA_DIR: dataDir, ADMIN_TOKEN_SECRET: 'y'.repeat(40) });
    expect(other.code).toBe(0);
    expect(await adminGet(gate!.url, other.stdout.trim())).toBe(401);

    const missing = await cli(['admin-token'], { DATA_DIR: join(dataDir, 'nowhere') });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no_admin_secret');
    expect(missing.stderr).toContain('npm start');
    const badTtl = await cli(['admin-token', '--ttl', '2y'], { DATA_DIR: dataDir });
    expect(badTtl.code).toBe(1);
    expect(badTtl.stderr).toContain('--ttl');
  });

  it('runs the README path: CLI import and key, tenant JWT, ICE servers, relay; quota per node', async () => {
    // The example order history must stay active for years: the README depends on it.
    const example = parseOrderHistory(JSON.parse(await readFile(EXAMPLE, 'utf8')));
    expect(entitlementAt(example, new Date()).state).toBe('active');
    expect(entitlementAt(example, new Date(Date.now() + 3 * 365 * 86_400_000)).state).toBe('active');

    const env = { DATA_DIR: dataDir };
    const imported = await cli(['import', EXAMPLE], env);
    expect(imported.code).toBe(0);
    expect(JSON.parse(imported.stdout).accepted).toEqual(['acme-2026-001']);
    const issued = await cli(['license', 'issue', 'acme', '--server', 'neo.example.local'], env);
    expect(issued.code).toBe(0);
    const { key } = JSON.parse(issued.stdout) as { key: string };

    // The running node reads what the CLI wrote to the shared DATA_DIR.
    const answer = await iceServers(gate!.url, tenantToken(key, Date.now(), { sub: 'alice' }));
    expect(answer.status).toBe(200);
    const credential = turnCredential(answer.body);
    firstRunCredential = credential;
    const allocations: number[] = [];
    // 10 licenses x TURN_ALLOCATIONS_PER_LICENSE=1: the eleventh allocation is refused on this node.
    // Two allocations per end user, each with its own credential: one credential alone stops at
    // TURN_ALLOCATIONS_PER_USER (issue 15), which is not what this counts.
    for (let i = 0; i < 11; i++) {
      const mine =
        i < 2
          ? credential
          : turnCredential(
              (await iceServers(gate!.url, tenantToken(key, Date.now(), { sub: `user-${i >> 1}` }))).body,
            );
      const client = await TurnClient.open({
        ...gate!.node.turnAddress(),
        username: mine.username,
        password: mine.password,
      });
      clients.push(client);
      allocations.push((await client.allocate()).code);
    }
    expect(allocations).toEqual([...Array(10).fill(200), 486]);
  });

  it('keeps the same secrets on the next start and does not call onFirstStart again', async () => {
    const before = await readFile(join(dataDir, 'secrets.json'), 'utf8');
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await gate!.close();
    gate = await start();
    expect(firstStarts).toHaveLength(1);
    expect(await readFile(join(dataDir, 'secrets.json'), 'utf8')).toBe(before);
    // The admin token and the TURN credential of the first run stay good.
    expect(await adminGet(gate.url, firstStarts[0]!.adminToken)).toBe(200);
    const client = await TurnClient.open({
      ...gate.node.turnAddress(),
      username: firstRunCredential!.username,
      password: firstRunCredential!.password,
    });
    clients.push(client);
    expect((await client.allocate()).code).toBe(200);
    const tenants = await fetch(`${gate.url}/v1/admin/tenants`, {
      headers: { authorization: `Bearer ${firstStarts[0]!.adminToken}` },
    });
    expect(((await tenants.json()) as { tenants: { id: string }[] }).tenants.map((t) => t.id)).toEqual([
      'acme',
    ]);
  });
});
