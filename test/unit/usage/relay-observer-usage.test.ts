// RelayObserver as the usage and log source (issue 6): live allocations accrue time at every
// sample and at their end, each interval once; relayed bytes go to the sink as they flow; every
// allocation start and end is one JSON log line with tenant, transport, duration and bytes.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { RelayObserver, type UsageSink } from '../../../src/composition/relay-observer.js';
import { createLogger, silentLogger } from '../../../src/log/logger.js';
import { createMetrics } from '../../../src/metrics/metrics.js';
import type { AllocationView, ClientTransport } from '../../../src/turn/index.js';
import { FiveTuple } from '../../../src/turn/index.js';
import { TrafficCounters } from '../../../src/turn/traffic.js';

class RecordingSink implements UsageSink {
  readonly traffic: { tenant: string; bytes: number; atMs: number }[] = [];
  readonly time: { tenant: string; seconds: number; atMs: number }[] = [];
  addTraffic(tenant: string, bytes: number, atMs: number): void {
    this.traffic.push({ tenant, bytes, atMs });
  }
  addAllocationTime(tenant: string, seconds: number, atMs: number): void {
    this.time.push({ tenant, seconds, atMs });
  }
  secondsOf(tenant: string): number {
    return this.time.filter((t) => t.tenant === tenant).reduce((sum, t) => sum + t.seconds, 0);
  }
}

let nextId = 1;
function allocation(tenant: string, createdAt: number, transport: ClientTransport = 'udp'): AllocationView {
  return {
    id: nextId++,
    tenant,
    username: `9999999999:${tenant}`,
    opaque: undefined,
    tuple: new FiveTuple(
      transport,
      { family: 'IPv4', address: '127.0.0.1', port: 40000 + nextId },
      { family: 'IPv4', address: '127.0.0.1', port: 3478 },
    ),
    relay: { family: 'IPv4', address: '127.0.0.1', port: 50000 + nextId },
    relayId: nextId,
    createdAt,
    expiresAt: createdAt + 600_000,
    traffic: new TrafficCounters(),
    permissionCount: 1,
    channelCount: 1,
  };
}

function delta(toPeer: number, toClient: number): TrafficCounters {
  const d = new TrafficCounters();
  d.toPeerBytes = toPeer;
  d.toClientBytes = toClient;
  d.toPeerPackets = toPeer > 0 ? 1 : 0;
  d.toClientPackets = toClient > 0 ? 1 : 0;
  return d;
}

describe('RelayObserver usage', () => {
  it('accrues a live allocation at each sample and the rest at its end, never twice', () => {
    const sink = new RecordingSink();
    let now = 1_000_000;
    const observer = new RelayObserver(
      createMetrics({ defaultMetrics: false }),
      silentLogger,
      sink,
      () => now,
    );
    const events = observer.events();
    const a = allocation('acme', now);
    const b = allocation('beta', now + 2_000);
    events.allocationCreated?.(a);
    events.allocationCreated?.(b);
    now += 5_000;
    observer.sample([a, b]);
    expect(sink.secondsOf('acme')).toBeCloseTo(5, 9);
    expect(sink.secondsOf('beta')).toBeCloseTo(3, 9);
    now += 5_000;
    observer.sample([a, b]);
    observer.sample([a, b]); // same instant: nothing more
    expect(sink.secondsOf('acme')).toBeCloseTo(10, 9);
    // `a` ends 2.5 s after the last sample: only those 2.5 s are added, for 12.5 s in all.
    events.allocationDeleted?.(a, 'refresh-0', 12_500);
    expect(sink.secondsOf('acme')).toBeCloseTo(12.5, 9);
    expect(sink.time.at(-1)).toEqual({ tenant: 'acme', seconds: 2.5, atMs: a.createdAt + 12_500 });
    now += 60_000;
    observer.sample([b]);
    expect(sink.secondsOf('beta')).toBeCloseTo(68, 9);
  });

  it('counts an allocation never sampled by its whole duration at its end', () => {
    const sink = new RecordingSink();
    const observer = new RelayObserver(createMetrics({ defaultMetrics: false }), silentLogger, sink, () => 0);
    const a = allocation('acme', 10_000);
    observer.events().allocationDeleted?.(a, 'expired', 42_000);
    expect(sink.time).toEqual([{ tenant: 'acme', seconds: 42, atMs: 52_000 }]);
  });

  it('passes relayed bytes of both directions as they flow', () => {
    const sink = new RecordingSink();
    const observer = new RelayObserver(
      createMetrics({ defaultMetrics: false }),
      silentLogger,
      sink,
      () => 777,
    );
    const a = allocation('acme', 0);
    const events = observer.events();
    events.trafficRelayed?.(a, delta(100, 60));
    events.trafficRelayed?.(a, delta(0, 0));
    events.trafficRelayed?.(a, delta(0, 40));
    expect(sink.traffic).toEqual([
      { tenant: 'acme', bytes: 160, atMs: 777 },
      { tenant: 'acme', bytes: 40, atMs: 777 },
    ]);
  });
});

describe('RelayObserver allocation logs', () => {
  it('writes one JSON line at each allocation start and one at its end with tenant, transport, duration, bytes', async () => {
    const stream = new PassThrough();
    const lines: string[] = [];
    stream.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter(Boolean)));
    const observer = new RelayObserver(createMetrics({ defaultMetrics: false }), createLogger({ stream }));
    const events = observer.events();
    const a = allocation('acme', 1_000, 'tcp');
    const b = allocation('beta', 2_000, 'udp');
    events.allocationCreated?.(a);
    events.allocationCreated?.(b);
    a.traffic.toPeerBytes = 1200;
    a.traffic.toClientBytes = 3400;
    a.traffic.toPeerPackets = 12;
    a.traffic.toClientPackets = 34;
    events.trafficRelayed?.(a, delta(1200, 3400));
    observer.sample([a, b]);
    events.allocationDeleted?.(a, 'refresh-0', 61_234);
    events.allocationDeleted?.(b, 'expired', 600_000);
    await new Promise((resolve) => setImmediate(resolve));

    const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    for (const entry of entries) {
      expect(typeof entry.timestamp).toBe('string');
      expect(entry.level).toBe('info');
      expect(entry.component).toBe('relay');
    }
    const started = entries.filter((e) => e.message === 'allocation started');
    const ended = entries.filter((e) => e.message === 'allocation ended');
    expect(started.map((e) => e.allocation)).toEqual([a.id, b.id]);
    expect(ended.map((e) => e.allocation)).toEqual([a.id, b.id]);
    expect(entries).toHaveLength(4);
    expect(started[0]).toMatchObject({
      tenant: 'acme',
      transport: 'tcp',
      relayed: `127.0.0.1:${a.relay.port}`,
    });
    expect(ended[0]).toMatchObject({
      tenant: 'acme',
      transport: 'tcp',
      reason: 'deleted',
      durationSeconds: 61.2,
      bytesToPeer: 1200,
      bytesToClient: 3400,
      packetsToPeer: 12,
      packetsToClient: 34,
    });
    expect(ended[1]).toMatchObject({
      tenant: 'beta',
      transport: 'udp',
      reason: 'expired',
      durationSeconds: 600,
      bytesToPeer: 0,
      bytesToClient: 0,
    });
  });
});
