// The soak (issue 7): a whole node (startIcegate over PostgreSQL and Redis) under paced relay
// traffic for a while, with allocations created and ending continuously in the three ways they
// end (Refresh with LIFETIME 0, a UDP client that goes silent and lets it expire, a TCP connection
// that closes), each with a credential fetched from the HTTP endpoint. Afterwards RSS, heap, open
// file descriptors, live allocations, relay sockets, the UDP clients the listener remembers, the
// fleet quota ledger and the relay port range must be back where they started; the heap change is
// split into V8's code space and the secret ring's bounded key cache (its size per entry measured).
import { getHeapSpaceStatistics } from 'node:v8';
import { DEFAULT_KEY_CACHE_SIZE, SecretRing } from '../../src/auth/index.js';
import { Method } from '../../src/stun/index.js';
import type { PortBlock } from '../../test/helpers/ports.js';
import { TurnClient, type TurnTransport } from '../../test/helpers/turn-client.js';
import {
  ordersAt,
  sharedServices,
  tenantToken,
  tenantWithKey,
  turnCredential,
} from '../../test/integration/gate-harness.js';
import { busyRelayPorts, echoPeer, type FullNode, startFullNode } from './full-node.js';
import { collect, openFds, type ResourceSnapshot, round, sleep, snapshot } from './resources.js';

/** Options of the soak. */
export interface SoakOptions {
  ports: PortBlock;
  /** How long the load runs, ms. */
  durationMs: number;
  /** Allocation lifetime, s. */
  lifetime: number;
  /** Concurrent callers. */
  callers: number;
  /** How long each allocation relays, ms. */
  talkMs: number;
  /** Period of the samples, ms. */
  sampleMs: number;
  /** Called after the baseline and after the end snapshot (e.g. to write a heap snapshot). */
  probe?: (phase: 'baseline' | 'end') => Promise<void> | void;
}

/** One periodic sample. */
export interface SoakSample {
  atS: number;
  rssMb: number;
  heapUsedMb: number;
  openFds: number;
  allocations: number;
  /** Relay sockets open: the JS RelayPool's and the native plane's. */
  relaySockets: number;
  /** UDP client tuples the listener remembers (each forgotten when its allocation ends). */
  udpClients: number;
  /** Credentials fetched since the soak began. */
  credentials: number;
}

/** The node's own counts beside the process figures. */
export interface NodeCounts {
  allocations: number;
  relaySockets: number;
  udpClients: number;
  /** V8 heap space sizes used, MB (where heap growth sits: old objects or compiled code). */
  heapSpacesMb: Record<string, number>;
}

/** Figures of the soak. */
export interface SoakResult {
  options: Omit<SoakOptions, 'ports' | 'probe'>;
  baseline: ResourceSnapshot & NodeCounts;
  end: ResourceSnapshot & NodeCounts;
  samples: SoakSample[];
  allocations: { created: number; refusals: Record<string, number>; endedBy: Record<string, number> };
  credentials: { ok: number; failed: number };
  packets: { sent: number; echoed: number; lost: number };
  /** Ports of the relay range still bound after the end. */
  busyRelayPorts: number[];
  /** The fleet quota ledger's count per tenant after the end (null: no Redis). */
  ledger: Record<string, number | null>;
  rssDeltaMb: number;
  heapDeltaMb: number;
  /**
   * The TURN secret ring's long-term key cache (one entry per distinct credential, a bounded LRU
   * of DEFAULT_KEY_CACHE_SIZE entries): heap bytes per entry, measured on a fresh ring with
   * usernames like the soak's, so the heap change can be told apart from a leak.
   */
  keyCache: { bytesPerEntry: number; capacity: number };
  fdsDelta: number;
  errorsLogged: string[];
}

const TENANTS = ['soak-a', 'soak-b', 'soak-c', 'soak-d'];
const PAYLOAD = Buffer.alloc(160, 0x61);

/** Runs the soak. */
export async function soak(options: SoakOptions): Promise<SoakResult> {
  const services = await sharedServices();
  const peer = await echoPeer();
  let full: FullNode | null = null;
  try {
    full = await startFullNode({
      ports: options.ports,
      env: services.env,
      redisPrefix: services.redisPrefix,
      lifetime: options.lifetime,
    });
    const node = full.node;
    const keys = new Map<string, string>();
    for (const tenant of TENANTS)
      keys.set(tenant, await tenantWithKey(full.url, tenant, ordersAt.active(Date.now(), 200)));
    const turn = node.turnAddress();
    const stats = {
      created: 0,
      refusals: {} as Record<string, number>,
      endedBy: { 'refresh-0': 0, 'silent-expiry': 0, 'tcp-close': 0 } as Record<string, number>,
      credentialsOk: 0,
      credentialsFailed: 0,
      sent: 0,
      echoed: 0,
    };
    let stop = false;
    let lastUsername = '1700000000:soak-a';
    const url = full.url;
    const caller = async (index: number): Promise<void> => {
      for (let cycle = 0; !stop; cycle++) {
        const tenant = TENANTS[(index + cycle) % TENANTS.length]!;
        const answer = await fetch(`${url}/v1/ice-servers`, {
          method: 'POST',
          headers: { authorization: `Bearer ${tenantToken(keys.get(tenant)!, Date.now())}` },
        });
        if (answer.status !== 200) {
          stats.credentialsFailed++;
          await answer.arrayBuffer();
          await sleep(200);
          continue;
        }
        stats.credentialsOk++;
        const { username, password } = turnCredential(
          (await answer.json()) as Parameters<typeof turnCredential>[0],
        );
        lastUsername = username;
        const ending = (['refresh-0', 'silent-expiry', 'tcp-close'] as const)[(index + cycle) % 3]!;
        const transport: TurnTransport = ending === 'tcp-close' ? 'tcp' : 'udp';
        const session = await TurnClient.open({
          address: turn.address,
          port: turn.port,
          transport,
          username,
          password,
          timeoutMs: 3000,
          inboxLimit: 0,
        });
        try {
          const allocated = await session.allocate();
          if (allocated.code !== 200) {
            stats.refusals[String(allocated.code)] = (stats.refusals[String(allocated.code)] ?? 0) + 1;
            await sleep(200);
            continue;
          }
          stats.created++;
          const bound = await session.channelBind(0x4000, {
            family: 'IPv4',
            address: '127.0.0.1',
            port: peer.port,
          });
          if (bound.code !== 200) {
            stats.refusals[`ChannelBind ${bound.code}`] =
              (stats.refusals[`ChannelBind ${bound.code}`] ?? 0) + 1;
          }
          const until = Date.now() + options.talkMs;
          let sent = 0;
          while (Date.now() < until && !stop) {
            session.channelData(0x4000, PAYLOAD);
            sent++;
            await sleep(20);
          }
          await sleep(200);
          stats.sent += sent;
          stats.echoed += Math.min(session.relayedIn, sent);
          if (ending === 'refresh-0') {
            await session.request(Method.Refresh, (b) => b.addUint32(0x000d, 0));
          }
          stats.endedBy[ending] = (stats.endedBy[ending] ?? 0) + 1;
        } finally {
          await session.close();
        }
      }
    };

    // Warm-up: a few cycles, then everything expires, then the baseline.
    stop = false;
    const warm = Array.from({ length: Math.min(4, options.callers) }, (_, i) => caller(i));
    await sleep(Math.max(3000, options.talkMs * 2));
    stop = true;
    await Promise.all(warm);
    await waitForIdle(full, options.lifetime);
    const baseline = { ...(await snapshot()), ...counts(full) };
    await options.probe?.('baseline');
    for (const key of Object.keys(stats.endedBy)) stats.endedBy[key] = 0;
    stats.created = 0;
    stats.sent = 0;
    stats.echoed = 0;
    stats.credentialsOk = 0;

    // The soak.
    const started = Date.now();
    const samples: SoakSample[] = [];
    const sampler = setInterval(() => {
      // A full collection first, so the heap column shows what is retained.
      void collect();
      const m = process.memoryUsage();
      samples.push({
        atS: Math.round((Date.now() - started) / 1000),
        rssMb: round(m.rss / 2 ** 20),
        heapUsedMb: round(m.heapUsed / 2 ** 20),
        openFds: openFds(),
        allocations: node.relay.core.allocationCount,
        relaySockets: node.relay.relays.size + (node.relay.native?.nativeRelayCount ?? 0),
        udpClients: node.relay.knownUdpClients,
        credentials: stats.credentialsOk,
      });
    }, options.sampleMs);
    stop = false;
    const callers = Array.from({ length: options.callers }, (_, i) => caller(i));
    await sleep(options.durationMs);
    stop = true;
    await Promise.all(callers);
    clearInterval(sampler);

    // Every allocation ends (the silent ones by expiry); then the end state.
    await waitForIdle(full, options.lifetime);
    const end = { ...(await snapshot()), ...counts(full) };
    await options.probe?.('end');
    const ledger: Record<string, number | null> = {};
    for (const tenant of TENANTS)
      ledger[tenant] = node.fleetQuota === null ? null : await node.fleetQuota.count(tenant);
    const busy = await busyRelayPorts(options.ports);
    const keyCache = {
      bytesPerEntry: await keyCacheEntryBytes(lastUsername),
      capacity: DEFAULT_KEY_CACHE_SIZE,
    };
    const { ports: _ports, probe: _probe, ...rest } = options;
    return {
      options: rest,
      baseline,
      end,
      samples,
      allocations: { created: stats.created, refusals: stats.refusals, endedBy: stats.endedBy },
      credentials: { ok: stats.credentialsOk, failed: stats.credentialsFailed },
      packets: { sent: stats.sent, echoed: stats.echoed, lost: stats.sent - stats.echoed },
      busyRelayPorts: busy,
      ledger,
      rssDeltaMb: round(end.rssMb - baseline.rssMb),
      heapDeltaMb: round(end.heapUsedMb - baseline.heapUsedMb),
      keyCache,
      fdsDelta: end.openFds - baseline.openFds,
      errorsLogged: full.logger.lines.filter((l) => l.level === 'error').map((l) => l.message),
    };
  } finally {
    await full?.close();
    peer.close();
    await services.dispose();
  }
}

/** The node's counts and the V8 heap spaces (taken right after a snapshot, so after a collection). */
function counts(full: FullNode): NodeCounts {
  const relay = full.node.relay;
  const heapSpacesMb: Record<string, number> = {};
  for (const space of getHeapSpaceStatistics())
    heapSpacesMb[space.space_name] = round(space.space_used_size / 2 ** 20);
  return {
    allocations: relay.core.allocationCount,
    relaySockets: relay.relays.size + (relay.native?.nativeRelayCount ?? 0),
    udpClients: relay.knownUdpClients,
    heapSpacesMb,
  };
}

/**
 * Heap bytes one entry of a SecretRing's long-term key cache holds (its MD5 key buffer, the array
 * around it, its cache key and map slot), measured by filling a fresh ring with usernames shaped
 * like `sample` (same length) after a full collection.
 */
async function keyCacheEntryBytes(sample: string): Promise<number> {
  const entries = 5_000;
  const ring = new SecretRing(['soak-key-cache-probe']);
  await collect();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < entries; i++) {
    ring.longTermKeys(`${String(i).padStart(4, '0')}${sample.slice(4)}`, 'icegate');
  }
  await collect();
  const after = process.memoryUsage().heapUsed;
  if (ring.cachedKeyCount !== entries) return Number.NaN;
  return Math.round((after - before) / entries);
}

/** Waits until no allocation is live and no relay socket open (at most lifetime + 5 s). */
async function waitForIdle(full: FullNode, lifetime: number): Promise<void> {
  const deadline = Date.now() + (lifetime + 5) * 1000;
  const core = full.node.relay.core;
  while ((core.allocationCount > 0 || full.node.relay.relays.size > 0) && Date.now() < deadline)
    await sleep(250);
  // Sockets closing, usage flushes, and the HTTP client's idle keep-alive connections (the
  // server's keepAliveTimeout is 5 s) settle.
  await sleep(6000);
}
