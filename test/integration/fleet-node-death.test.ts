// A dead node must not hold its tenants' quota (issue 18 points 6 and 8). Two real icegate
// processes share Redis and PostgreSQL; a tenant with quota 2 (1 license x 2) holds both slots on
// node A; node B refuses it with 486. Then:
// - kill -9 of node A: node B admits the tenant again within 20 s (heartbeat every 2 s, dead after
//   10 s of silence: about 12 s);
// - SIGSTOP of a node for longer than the timeout (a stall, not a death): the others drop its
//   members; once it runs again it finds its heartbeat gone and puts its live allocations back
//   in the ledger, and those allocations still work.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { PortBlock } from '../helpers/ports.js';
import { PORTS } from '../helpers/ports.js';
import { TurnClient } from '../helpers/turn-client.js';
import { eventually, LineCapture } from './drain-harness.js';
import {
  credentialFor,
  ordersAt,
  type SharedServices,
  sharedServices,
  tenantWithKey,
} from './gate-harness.js';
import { TEST_REDIS_URL } from './http-harness.js';
import { type ChildBuild, compileForChild } from './store-child-build.js';

interface NodePorts {
  turn: number;
  http: number;
  relay: PortBlock;
}
const NODE_A: NodePorts = { turn: 12200, http: 12201, relay: PORTS.fleetDeathA };
const NODE_B: NodePorts = { turn: 12202, http: 12203, relay: PORTS.fleetDeathB };

let build: ChildBuild;
let services: SharedServices;
let redis: Redis;
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  services = await sharedServices();
  redis = new Redis(TEST_REDIS_URL);
  build = await compileForChild('test/integration/fleet-node-child.ts');
}, 180_000);

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

afterAll(async () => {
  redis?.disconnect();
  await services?.dispose();
  if (build) await rm(build.dir, { recursive: true, force: true });
});

interface NodeProcess {
  child: ChildProcess;
  url: string;
  turn: { family: 'IPv4'; address: string; port: number };
}

async function startNodeProcess(ports: NodePorts): Promise<NodeProcess> {
  const dataDir = await mkdtemp(join(tmpdir(), 'icegate-fleet-death-'));
  const output = new LineCapture();
  const child = spawn(process.execPath, [build.script], {
    env: {
      PATH: process.env['PATH'] ?? '',
      ...services.env,
      TEST_REDIS_PREFIX: services.redisPrefix,
      TURN_LISTEN_IP: '127.0.0.1',
      TURN_PORT: String(ports.turn),
      TURN_MIN_PORT: String(ports.relay.relayMin),
      TURN_MAX_PORT: String(ports.relay.relayMax),
      TURN_ALLOW_LOOPBACK_PEERS: 'true',
      TURN_ALLOCATIONS_PER_LICENSE: '2',
      HTTP_PORT: String(ports.http),
      HTTP_LISTEN_IP: '127.0.0.1',
      // Just below the node's relay range (issue 18's port block).
      METRICS_PORT: String(ports.relay.relayMin - 1),
      METRICS_LISTEN_IP: '127.0.0.1',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => output.push(chunk));
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
    }
    await exited;
    await rm(dataDir, { recursive: true, force: true });
  });
  const url = `http://127.0.0.1:${ports.http}`;
  await eventually(
    async () => {
      if (child.exitCode !== null) throw new Error(`icegate exited early:\n${output.text}`);
      return (await fetch(`${url}/readyz`).catch(() => null))?.status === 200;
    },
    20_000,
    'the node to be ready',
  );
  return { child, url, turn: { family: 'IPv4', address: '127.0.0.1', port: ports.turn } };
}

async function allocate(node: NodeProcess, credential: { username: string; password: string }) {
  const client = await TurnClient.open({
    ...node.turn,
    username: credential.username,
    password: credential.password,
  });
  cleanups.push(() => client.close());
  return { client, code: (await client.allocate()).code };
}

/** The tenant's unexpired ledger members, as every node counts them. */
async function ledgerCount(tenant: string): Promise<number> {
  return redis.zcount(`${services.redisPrefix}alloc:${tenant}`, `(${Date.now()}`, '+inf');
}

describe("a node that dies or stalls does not hold its tenants' quota", () => {
  it('admits the tenant on another node within 20 s of kill -9 of the node holding its quota', async () => {
    const a = await startNodeProcess(NODE_A);
    const b = await startNodeProcess(NODE_B);
    const key = await tenantWithKey(a.url, 'doomed', ordersAt.active(Date.now(), 1));
    const credential = await credentialFor(a.url, key);
    expect((await allocate(a, credential)).code).toBe(200);
    expect((await allocate(a, credential)).code).toBe(200);
    expect((await allocate(b, credential)).code).toBe(486);

    a.child.kill('SIGKILL');
    const killedAt = Date.now();

    let admittedAfterMs = -1;
    while (Date.now() - killedAt < 25_000) {
      const probe = await allocate(b, credential);
      if (probe.code === 200) {
        admittedAfterMs = Date.now() - killedAt;
        break;
      }
      expect(probe.code).toBe(486);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    process.stdout.write(`fleet-node-death: admitted ${admittedAfterMs} ms after kill -9\n`);
    expect(admittedAfterMs).toBeGreaterThan(0);
    expect(admittedAfterMs).toBeLessThan(20_000);
    // The dead node's members are gone from the ledger; the new allocation is B's.
    expect(await ledgerCount('doomed')).toBe(1);
  }, 60_000);

  it("drops a stalled node's members, and the node puts them back when it runs again", async () => {
    const a = await startNodeProcess(NODE_A);
    await startNodeProcess(NODE_B);
    const key = await tenantWithKey(a.url, 'sleeper', ordersAt.active(Date.now(), 1));
    const credential = await credentialFor(a.url, key);
    const held = await allocate(a, credential);
    expect(held.code).toBe(200);
    expect(await ledgerCount('sleeper')).toBe(1);

    a.child.kill('SIGSTOP');
    const stoppedAt = Date.now();
    await eventually(async () => (await ledgerCount('sleeper')) === 0, 20_000, 'the stalled node reaped');
    const reapedAfterMs = Date.now() - stoppedAt;
    a.child.kill('SIGCONT');
    process.stdout.write(`fleet-node-death: stalled node reaped ${reapedAfterMs} ms after SIGSTOP\n`);
    // Not before the timeout: 10 s after its last heartbeat, which came up to 2 s before the stop.
    expect(reapedAfterMs).toBeGreaterThanOrEqual(8_000);

    // Its next heartbeat finds it was taken for dead: its live allocation counts again, and works.
    await eventually(async () => (await ledgerCount('sleeper')) === 1, 6_000, 'the member re-announced');
    expect((await held.client.refresh()).code).toBe(200);
    expect(await ledgerCount('sleeper')).toBe(1);
  }, 60_000);
});
