// Graceful drain of an in-process node with real clients (issue 6): coturn's turnutils_uclient
// relays paced traffic through a node to turnutils_peer with a credential minted through the
// public API; drain() turns /readyz to 503 and icegate_draining to 1, refuses a new Allocate with
// 508, lets the running client finish with no loss, and resolves once its allocations are gone.
// The same run checks the allocation log lines, the usage the node accounted, and that nothing
// secret reached the log.
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { addDays, jstDateOf } from '../../src/entitlement/rules/index.js';
import { openFileStore } from '../../src/entitlement/store/index.js';
import { createLogger } from '../../src/log/logger.js';
import { type Icegate, startIcegate } from '../../src/main.js';
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
  startPeer,
  startUclient,
  uclientTotals,
} from './drain-harness.js';

const PORTS_OF_NODE: DrainPorts = { turn: 28478, http: 28479, metrics: 11000, ...PORTS.drain };
const HTTP = `http://127.0.0.1:${PORTS_OF_NODE.http}`;
const METRICS = `http://127.0.0.1:${PORTS_OF_NODE.metrics}`;
const CLIENTS = 2;
const MESSAGES = 300;
const PAYLOAD = 160;
// Each uclient client first allocates a probe it never uses nor deletes, then the allocation it
// relays through (-c: no RTCP twin) and deletes at its end: two allocations per client.
const ALLOCATIONS = 2 * CLIENTS;
// Short lifetimes, so the idle probes expire and the drain ends on its own, half a minute in.
const LIFETIME_SECONDS = 30;

let dataDir: string;
let peer: ChildProcess;
let node: Icegate | undefined;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'icegate-drain-'));
  peer = await startPeer(PORTS_OF_NODE.peer);
});

afterAll(async () => {
  peer?.kill('SIGKILL');
  await node?.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('graceful drain of a node (in process)', () => {
  it('refuses new allocations, keeps live ones relaying with no loss, then finishes', async () => {
    const logs = new LineCapture();
    const started = Date.now();
    const env = {
      ...drainEnv(PORTS_OF_NODE, dataDir),
      TURN_DEFAULT_LIFETIME: String(LIFETIME_SECONDS),
      TURN_MAX_LIFETIME: String(LIFETIME_SECONDS),
    };
    node = await startIcegate(loadConfig(env), {
      logger: createLogger({ level: 'debug', stream: logs.stream }),
    });
    const running = node;
    expect((await fetch(`${HTTP}/readyz`)).status).toBe(200);
    expect(await scrapeMetric(METRICS, 'icegate_draining')).toBe(0);

    const secrets = await provisionTenant(HTTP, 'acme');
    const uclient = startUclient({
      port: PORTS_OF_NODE.turn,
      peerPort: PORTS_OF_NODE.peer,
      username: secrets.username,
      credential: secrets.credential,
      clients: CLIENTS,
      messages: MESSAGES,
    });
    await eventually(
      () => running.relay.core.allocationCount === ALLOCATIONS,
      10_000,
      'the client allocations',
    );
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // traffic is flowing

    let drainFinished = false;
    const drained = running.drain().then(() => {
      drainFinished = true;
    });
    const ready = await fetch(`${HTTP}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ status: 'draining' });
    expect(await scrapeMetric(METRICS, 'icegate_draining')).toBe(1);

    // From 127.0.0.2, a source address uclient never uses: the probe's 5-tuple cannot be one that
    // holds an allocation (an uclient socket that uclient dropped under load leaves its allocation
    // behind, and the kernel may give its port to the next socket: 437, once, in CI).
    const probe = await TurnClient.open({
      address: '127.0.0.1',
      port: PORTS_OF_NODE.turn,
      localAddress: '127.0.0.2',
      username: secrets.username,
      password: secrets.credential,
    });
    try {
      expect((await probe.allocate()).code).toBe(508);
    } finally {
      await probe.close();
    }
    expect(running.relay.core.allocationCount).toBe(ALLOCATIONS);
    expect(drainFinished).toBe(false);

    const result = await uclient.done;
    expect(uclientTotals(result.output)).toEqual({
      lost: 0,
      sent: CLIENTS * MESSAGES,
      received: CLIENTS * MESSAGES,
    });
    // The relaying allocations are gone; the drain waits for the idle probes to expire.
    expect(running.relay.core.allocationCount).toBe(ALLOCATIONS - CLIENTS);
    expect(drainFinished).toBe(false);
    await Promise.race([
      drained,
      new Promise((_, reject) => setTimeout(() => reject(new Error('drain did not finish')), 25_000)),
    ]);
    expect(running.relay.core.allocationCount).toBe(0);
    expect((await fetch(`${HTTP}/readyz`)).status).toBe(503);
    await running.close();
    node = undefined;
    const elapsedSeconds = (Date.now() - started) / 1000;

    // Usage: every relayed payload byte, both directions, and the allocations' time.
    const store = await openFileStore({ dataDir });
    const today = jstDateOf(new Date());
    const rows = await store.usage(addDays(today, -1), today);
    await store.close();
    const bytes = rows.reduce((sum, r) => sum + r.bytesRelayed, 0);
    const seconds = rows.reduce((sum, r) => sum + r.allocationSeconds, 0);
    expect(rows.every((r) => r.tenant === 'acme')).toBe(true);
    expect(bytes).toBe(2 * CLIENTS * MESSAGES * PAYLOAD);

    // Logs: one start and one end line per allocation, with tenant, transport, duration, bytes.
    const entries = logs.json();
    const startLines = entries.filter((e) => e.message === 'allocation started');
    const endLines = entries.filter((e) => e.message === 'allocation ended');
    expect(startLines).toHaveLength(ALLOCATIONS);
    expect(endLines).toHaveLength(ALLOCATIONS);
    expect(new Set(endLines.map((e) => e.allocation))).toEqual(new Set(startLines.map((e) => e.allocation)));
    let loggedSeconds = 0;
    const relaying = endLines.filter((e) => e.reason === 'deleted');
    const probes = endLines.filter((e) => e.reason === 'expired');
    expect(relaying).toHaveLength(CLIENTS);
    expect(probes).toHaveLength(CLIENTS);
    for (const line of endLines) {
      expect(line).toMatchObject({ level: 'info', component: 'relay', tenant: 'acme', transport: 'udp' });
      expect(typeof line.timestamp).toBe('string');
      expect(typeof line.durationSeconds).toBe('number');
      loggedSeconds += line.durationSeconds as number;
    }
    for (const line of relaying) {
      expect(line).toMatchObject({ bytesToPeer: MESSAGES * PAYLOAD, bytesToClient: MESSAGES * PAYLOAD });
      expect(line.durationSeconds).toBeGreaterThan(MESSAGES * 0.02 * 0.9);
    }
    for (const line of probes) {
      expect(line).toMatchObject({ bytesToPeer: 0, bytesToClient: 0 });
      expect(line.durationSeconds).toBeGreaterThanOrEqual(LIFETIME_SECONDS);
    }
    for (const line of startLines) expect(line).toMatchObject({ tenant: 'acme', transport: 'udp' });
    // Whole seconds, fractions rounded per day: the accounted time matches the logged durations.
    expect(Math.abs(seconds - loggedSeconds)).toBeLessThanOrEqual(1);
    expect(seconds).toBeLessThan(ALLOCATIONS * elapsedSeconds);
    expect(entries.some((e) => e.message === 'draining: new allocations refused, live ones continue')).toBe(
      true,
    );
    expect(entries.some((e) => e.message === 'drain finished' && e.remaining === 0)).toBe(true);

    // Nothing secret in anything the node logged during the whole run.
    const text = logs.text;
    expect(text.length).toBeGreaterThan(0);
    for (const secret of forbiddenInLogs(secrets))
      expect(text.includes(secret), secret.slice(0, 12)).toBe(false);
  }, 60_000);
});
