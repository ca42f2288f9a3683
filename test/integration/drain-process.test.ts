// Graceful drain of the real process (issue 6): `node main.js` (compiled from src/main.ts) gets
// SIGTERM while turnutils_uclient relays through it: /readyz turns 503 and icegate_draining 1, a
// new Allocate gets 508, the client finishes with no loss, and the process exits 0 once the drain
// deadline closes what is left (uclient's idle probe allocations). A second SIGTERM exits at
// once. Everything the process writes is checked for secrets.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { addDays, jstDateOf } from '../../src/entitlement/rules/index.js';
import { openFileStore } from '../../src/entitlement/store/index.js';
import { PORTS } from '../helpers/ports.js';
import { TurnClient } from '../helpers/turn-client.js';
import {
  type DrainPorts,
  drainEnv,
  eventually,
  forbiddenInLogs,
  LineCapture,
  provisionTenant,
  scrapeMetric,
  scrapeSum,
  startPeer,
  startUclient,
  uclientTotals,
} from './drain-harness.js';
import { type ChildBuild, compileForChild } from './store-child-build.js';

const PORTS_OF_NODE: DrainPorts = { turn: 28678, http: 28679, metrics: 11001, ...PORTS.drainProcess };
const HTTP = `http://127.0.0.1:${PORTS_OF_NODE.http}`;
const METRICS = `http://127.0.0.1:${PORTS_OF_NODE.metrics}`;
const TURN = { family: 'IPv4' as const, address: '127.0.0.1', port: PORTS_OF_NODE.turn };
const CLIENTS = 2;
const MESSAGES = 300;
const PAYLOAD = 160;
const DRAIN_SECONDS = 25;

let build: ChildBuild;
let peer: ChildProcess;
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  build = await compileForChild('src/main.ts');
  peer = await startPeer(PORTS_OF_NODE.peer);
}, 180_000);

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

afterAll(async () => {
  peer?.kill('SIGKILL');
  if (build) await rm(build.dir, { recursive: true, force: true });
});

/** A started icegate process, its output, and how it ended. */
interface NodeProcess {
  child: ChildProcess;
  output: LineCapture;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  dataDir: string;
}

async function startNodeProcess(extraEnv: Record<string, string>): Promise<NodeProcess> {
  const dataDir = await mkdtemp(join(tmpdir(), 'icegate-drain-process-'));
  const output = new LineCapture();
  const child = spawn(process.execPath, [build.script], {
    env: { PATH: process.env['PATH'] ?? '', ...drainEnv(PORTS_OF_NODE, dataDir), ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => output.push(chunk));
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    await rm(dataDir, { recursive: true, force: true });
  });
  await eventually(
    async () => {
      if (child.exitCode !== null) throw new Error(`icegate exited early:\n${output.text}`);
      return (await fetch(`${HTTP}/readyz`).catch(() => null))?.status === 200;
    },
    20_000,
    'the process to be ready',
  );
  return { child, output, exited, dataDir };
}

describe('graceful drain of the process on SIGTERM', () => {
  it('keeps the running client relaying with no loss, refuses new allocations, exits 0 at the deadline', async () => {
    const node = await startNodeProcess({ DRAIN_TIMEOUT_SECONDS: String(DRAIN_SECONDS) });
    const secrets = await provisionTenant(HTTP, 'acme');
    const uclient = startUclient({
      port: PORTS_OF_NODE.turn,
      peerPort: PORTS_OF_NODE.peer,
      username: secrets.username,
      credential: secrets.credential,
      clients: CLIENTS,
      messages: MESSAGES,
    });
    cleanups.push(() => {
      uclient.child.kill('SIGKILL');
    });
    await eventually(
      async () => (await scrapeSum(METRICS, 'icegate_allocations_active')) === 2 * CLIENTS,
      10_000,
      'the client allocations',
    );
    await new Promise((resolve) => setTimeout(resolve, 1_000));

    const signalledAt = Date.now();
    node.child.kill('SIGTERM');
    await eventually(async () => (await fetch(`${HTTP}/readyz`)).status === 503, 2_000, '/readyz 503');
    expect(await (await fetch(`${HTTP}/readyz`)).json()).toEqual({ status: 'draining' });
    expect(await scrapeMetric(METRICS, 'icegate_draining')).toBe(1);
    const probe = await TurnClient.open({
      ...TURN,
      username: secrets.username,
      password: secrets.credential,
    });
    try {
      expect((await probe.allocate()).code).toBe(508);
    } finally {
      await probe.close();
    }

    const result = await uclient.done;
    expect(uclientTotals(result.output)).toEqual({
      lost: 0,
      sent: CLIENTS * MESSAGES,
      received: CLIENTS * MESSAGES,
    });
    // uclient's idle probes are still allocated: the process drains on.
    expect(node.child.exitCode).toBeNull();
    expect(await scrapeSum(METRICS, 'icegate_allocations_active')).toBe(CLIENTS);

    const exit = await node.exited;
    const drainedFor = (Date.now() - signalledAt) / 1000;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(drainedFor).toBeGreaterThanOrEqual(DRAIN_SECONDS - 1);
    expect(drainedFor).toBeLessThan(DRAIN_SECONDS + 10);

    const logs = node.output.json();
    expect(logs.find((e) => e.message === 'drain finished')).toMatchObject({ remaining: CLIENTS });
    const ended = logs.filter((e) => e.message === 'allocation ended');
    expect(ended.filter((e) => e.reason === 'deleted')).toHaveLength(CLIENTS);
    expect(ended.filter((e) => e.reason === 'drain_deadline')).toHaveLength(CLIENTS);

    // The usage of the run was flushed to the store at exit.
    const store = await openFileStore({ dataDir: node.dataDir });
    const today = jstDateOf(new Date());
    const rows = await store.usage(addDays(today, -1), today);
    await store.close();
    expect(rows.reduce((sum, r) => sum + r.bytesRelayed, 0)).toBe(2 * CLIENTS * MESSAGES * PAYLOAD);

    const text = node.output.text;
    expect(logs.length).toBeGreaterThan(5);
    for (const secret of forbiddenInLogs(secrets))
      expect(text.includes(secret), secret.slice(0, 12)).toBe(false);
  }, 90_000);

  it('exits 0 at once on a second SIGTERM while draining', async () => {
    const node = await startNodeProcess({ DRAIN_TIMEOUT_SECONDS: '600' });
    const secrets = await provisionTenant(HTTP, 'beta');
    const client = await TurnClient.open({
      ...TURN,
      username: secrets.username,
      password: secrets.credential,
    });
    cleanups.push(() => client.close());
    expect((await client.allocate()).code).toBe(200);

    node.child.kill('SIGTERM');
    await eventually(async () => (await scrapeMetric(METRICS, 'icegate_draining')) === 1, 2_000, 'draining');
    expect(node.child.exitCode).toBeNull();
    const secondAt = Date.now();
    node.child.kill('SIGTERM');
    const exit = await node.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(Date.now() - secondAt).toBeLessThan(2_000);
    expect(node.output.json().some((e) => e.message === 'second signal: exiting now')).toBe(true);
    for (const secret of forbiddenInLogs(secrets)) {
      expect(node.output.text.includes(secret), secret.slice(0, 12)).toBe(false);
    }
  }, 60_000);
});
