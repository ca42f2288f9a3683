import { Counter, Histogram, type Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { recordAllocationCreated, recordAllocationEnded } from '../../../src/metrics/allocation-lifecycle.js';
import { httpRequestLabels, methodLabel, statusClass } from '../../../src/metrics/http-labels.js';
import {
  ALLOCATE_RESULTS,
  AUTH_FAILURE_REASONS,
  CREDENTIAL_OUTCOMES,
  PEER_DENIAL_REASONS,
} from '../../../src/metrics/label-sets.js';
import { createMetrics, EVENT_LOOP_SAMPLE_MS, METRIC_NAMES } from '../../../src/metrics/metrics.js';
import { seriesByKey } from '../../../src/metrics/typed-metric.js';
import { PEER_DENY_REASONS } from '../../../src/turn/peer-filter/index.js';
import { TrafficCounters } from '../../../src/turn/traffic.js';
import { parseExposition } from './exposition.js';

const FORBIDDEN_LABELS = [
  'tenant',
  'tenant_id',
  'user',
  'user_id',
  'username',
  'ip',
  'address',
  'peer',
  'sub',
];
const DEFAULT_PREFIXES = ['process_', 'nodejs_'];

function isDefault(name: string): boolean {
  return DEFAULT_PREFIXES.some((prefix) => name.startsWith(prefix));
}

// prom-client's values carry `metricName` for histogram parts; its typings leave it out.
type Value = { labels: Record<string, string | number>; value: number; metricName?: string };

async function seriesOf(registry: Registry, name: string): Promise<Value[]> {
  const metric = registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  return (await metric.get()).values as Value[];
}

async function value(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const match = (await seriesOf(registry, name)).find(
    (v) =>
      v.metricName === undefined &&
      Object.keys(labels).length === Object.keys(v.labels).length &&
      Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want),
  );
  if (!match) throw new Error(`no series ${name} ${JSON.stringify(labels)}`);
  return match.value;
}

async function histogramCount(registry: Registry, name: string, labels: Record<string, string>) {
  const count = (await seriesOf(registry, name)).find(
    (v) =>
      v.metricName === `${name}_count` && Object.entries(labels).every(([k, want]) => v.labels[k] === want),
  );
  return count?.value;
}

describe('icegate metric registry', () => {
  const metrics = createMetrics({ version: '1.2.3' });
  // One observation so the open-label histogram exposes its label names too.
  metrics.httpRequestDuration.observe(httpRequestLabels('/v1/ice-servers', 'POST', 200), 0.004);
  const all = metrics.registry.getMetricsAsArray();

  it('names every icegate metric with the icegate_ prefix in snake case', () => {
    const own = all.filter((m) => !isDefault(m.name));
    expect(own.length).toBe(Object.keys(METRIC_NAMES).length);
    for (const m of own) expect(m.name).toMatch(/^icegate_[a-z0-9_]+$/);
    for (const name of Object.values(METRIC_NAMES)) {
      expect(metrics.registry.getSingleMetric(name), name).toBeDefined();
    }
  });

  it('keeps prom-client default metrics under their standard prefixes, event-loop lag included', () => {
    const defaults = all.filter((m) => isDefault(m.name)).map((m) => m.name);
    expect(defaults).toContain('nodejs_eventloop_lag_seconds');
    expect(defaults).toContain('nodejs_eventloop_lag_p99_seconds');
    expect(defaults).toContain('process_cpu_seconds_total');
    expect(defaults).toContain('process_resident_memory_bytes');
    for (const m of all) expect(m.name.startsWith('icegate_') || isDefault(m.name), m.name).toBe(true);
  });

  it(`samples event-loop delay every ${EVENT_LOOP_SAMPLE_MS} ms (the gauges include that interval)`, async () => {
    const fresh = createMetrics();
    // Two intervals: the monitor has then recorded at least one gap between samples.
    await new Promise((resolve) => setTimeout(resolve, 2 * EVENT_LOOP_SAMPLE_MS + 50));
    const text = await fresh.registry.metrics();
    const min = Number(/^nodejs_eventloop_lag_min_seconds (\S+)$/m.exec(text)?.[1]);
    expect(min).toBeGreaterThanOrEqual((EVENT_LOOP_SAMPLE_MS - 5) / 1000);
    expect(min).toBeLessThan((2 * EVENT_LOOP_SAMPLE_MS) / 1000);
  });

  it('ends counters, and only counters, in _total', () => {
    for (const m of all.filter((x) => !isDefault(x.name))) {
      if (m instanceof Counter) expect(m.name, m.name).toMatch(/_total$/);
      else expect(m.name, m.name).not.toMatch(/_total$/);
    }
  });

  it('uses base units: seconds and bytes, never milliseconds or kilobytes', () => {
    for (const m of all.filter((x) => !isDefault(x.name))) {
      expect(m.name).not.toMatch(/_(ms|millis|milliseconds|us|kb|kib|mb|bits|minutes|hours)(_|$)/);
      if (m instanceof Histogram) expect(m.name).toMatch(/_seconds$/);
    }
    expect(METRIC_NAMES.relayedBytes).toMatch(/_bytes_total$/);
  });

  it('carries no tenant, user or IP label', async () => {
    for (const m of all) {
      const names = new Set<string>((m as unknown as { labelNames: string[] }).labelNames);
      for (const v of await seriesOf(metrics.registry, m.name))
        for (const k of Object.keys(v.labels)) names.add(k);
      for (const forbidden of FORBIDDEN_LABELS)
        expect(names.has(forbidden), `${m.name} ${forbidden}`).toBe(false);
    }
  });

  it('serves text that parses as Prometheus exposition format with every family typed', async () => {
    const families = parseExposition(await metrics.registry.metrics());
    expect(metrics.registry.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(families.get(METRIC_NAMES.relayedBytes)?.type).toBe('counter');
    expect(families.get(METRIC_NAMES.allocationsActive)?.type).toBe('gauge');
    expect(families.get(METRIC_NAMES.allocationLifetime)?.type).toBe('histogram');
    expect(families.get(METRIC_NAMES.httpRequestDuration)?.type).toBe('histogram');
    for (const family of families.values()) expect(family.help, family.name).not.toBe('');
    const build = families.get(METRIC_NAMES.buildInfo)?.samples[0];
    expect(build?.labels).toEqual({ version: '1.2.3', node_version: process.versions.node });
  });

  it('has a parser that refuses malformed exposition text', () => {
    expect(() => parseExposition('icegate_x_total 1\n')).toThrow(/no TYPE/);
    expect(() => parseExposition('# TYPE icegate_x_total counter\nicegate_x_total{a=b} 1\n')).toThrow();
    expect(() => parseExposition('# TYPE icegate_x_total counter\nicegate_x_total one\n')).toThrow();
    expect(() => parseExposition('# TYPE icegate_x counter\nicegate_x_bucket 1\n')).toThrow(/no TYPE/);
  });

  it('pre-creates every closed-label series at 0 so rate() sees the first increment', async () => {
    const families = parseExposition(await createMetrics({ defaultMetrics: false }).registry.metrics());
    const reasons = (name: string, label: string) =>
      new Set(families.get(name)?.samples.map((s) => s.labels[label]));
    expect(reasons(METRIC_NAMES.authFailures, 'reason')).toEqual(new Set(AUTH_FAILURE_REASONS));
    expect(reasons(METRIC_NAMES.peerDenials, 'reason')).toEqual(new Set(PEER_DENIAL_REASONS));
    expect(reasons(METRIC_NAMES.credentialRequests, 'outcome')).toEqual(new Set(CREDENTIAL_OUTCOMES));
    expect(families.get(METRIC_NAMES.allocateRequests)?.samples).toHaveLength(3 * ALLOCATE_RESULTS.length);
    expect(families.get(METRIC_NAMES.relayedBytes)?.samples).toHaveLength(6);
    for (const family of families.values()) {
      if (family.type === 'counter') for (const s of family.samples) expect(s.value).toBe(0);
    }
  });

  it('gives each createMetrics() call its own registry', async () => {
    const a = createMetrics({ defaultMetrics: false });
    const b = createMetrics({ defaultMetrics: false });
    a.authFailures.inc({ reason: 'bad_integrity' });
    expect(await value(a.registry, METRIC_NAMES.authFailures, { reason: 'bad_integrity' })).toBe(1);
    expect(await value(b.registry, METRIC_NAMES.authFailures, { reason: 'bad_integrity' })).toBe(0);
  });

  it('rejects label values outside the closed sets at compile time', () => {
    const m = createMetrics({ defaultMetrics: false });
    // @ts-expect-error 'acme' is a tenant, not a reason
    m.authFailures.inc({ reason: 'acme' });
    // @ts-expect-error the transport label is required
    m.allocationsActive.inc({});
    // @ts-expect-error direction must be client_to_peer or peer_to_client
    m.relay.add('udp', 'inbound', 1, 1);
    expect(true).toBe(true);
  });
});

describe('relay counters', () => {
  const bytes = (m: ReturnType<typeof createMetrics>, transport: string, direction: string) =>
    value(m.registry, METRIC_NAMES.relayedBytes, { transport, direction });
  const packets = (m: ReturnType<typeof createMetrics>, transport: string, direction: string) =>
    value(m.registry, METRIC_NAMES.relayedPackets, { transport, direction });

  it('adds an allocation traffic delta to both directions of its transport only', async () => {
    const m = createMetrics({ defaultMetrics: false });
    m.relay.addTraffic('udp', {
      toPeerBytes: 1000,
      toPeerPackets: 10,
      toClientBytes: 1200,
      toClientPackets: 1,
    });
    m.relay.addTraffic('udp', { toPeerBytes: 0, toPeerPackets: 0, toClientBytes: 300, toClientPackets: 1 });
    expect(await bytes(m, 'udp', 'client_to_peer')).toBe(1000);
    expect(await packets(m, 'udp', 'client_to_peer')).toBe(10);
    expect(await bytes(m, 'udp', 'peer_to_client')).toBe(1500);
    expect(await packets(m, 'udp', 'peer_to_client')).toBe(2);
    expect(await bytes(m, 'tcp', 'client_to_peer')).toBe(0);
    expect(await bytes(m, 'tls', 'peer_to_client')).toBe(0);
  });

  it('accepts the TURN core traffic counters as they are', async () => {
    const m = createMetrics({ defaultMetrics: false });
    const delta = new TrafficCounters();
    delta.toPeerBytes = 160;
    delta.toPeerPackets = 1;
    m.relay.addTraffic('tls', delta);
    expect(await bytes(m, 'tls', 'client_to_peer')).toBe(160);
  });

  it('adds batches directly for a transport and direction, ignoring empty ones', async () => {
    const m = createMetrics({ defaultMetrics: false });
    m.relay.add('tcp', 'peer_to_client', 5000, 4);
    m.relay.add('tcp', 'peer_to_client', 0, 0);
    expect(await bytes(m, 'tcp', 'peer_to_client')).toBe(5000);
    expect(await packets(m, 'tcp', 'peer_to_client')).toBe(4);
  });
});

describe('allocation lifecycle', () => {
  it('raises and lowers the active gauge once, counts the end reason and observes the lifetime', async () => {
    const m = createMetrics({ defaultMetrics: false });
    recordAllocationCreated(m, 'tls');
    recordAllocationCreated(m, 'tls');
    expect(await value(m.registry, METRIC_NAMES.allocationsActive, { transport: 'tls' })).toBe(2);
    expect(await value(m.registry, METRIC_NAMES.allocateRequests, { transport: 'tls', result: 'ok' })).toBe(
      2,
    );
    recordAllocationEnded(m, 'tls', 'expired', 620);
    expect(await value(m.registry, METRIC_NAMES.allocationsActive, { transport: 'tls' })).toBe(1);
    expect(
      await value(m.registry, METRIC_NAMES.allocationsEnded, { transport: 'tls', reason: 'expired' }),
    ).toBe(1);
    expect(await histogramCount(m.registry, METRIC_NAMES.allocationLifetime, { transport: 'tls' })).toBe(1);
    expect(await value(m.registry, METRIC_NAMES.allocationsActive, { transport: 'udp' })).toBe(0);
  });
});

describe('bound series (hot paths)', () => {
  it('show their pending changes, mixed with plain ones, to every reader: get(), the exposition text', async () => {
    const m = createMetrics({ defaultMetrics: false });
    const ok = m.allocateRequests.bound({ transport: 'udp', result: 'ok' });
    const active = m.allocationsActive.bound({ transport: 'udp' });
    ok.inc();
    ok.inc(2);
    m.allocateRequests.inc({ transport: 'udp', result: 'ok' });
    active.inc();
    active.inc();
    active.dec();
    expect(await value(m.registry, METRIC_NAMES.allocateRequests, { transport: 'udp', result: 'ok' })).toBe(
      4,
    );
    expect(await value(m.registry, METRIC_NAMES.allocationsActive, { transport: 'udp' })).toBe(1);
    ok.inc();
    active.dec();
    const text = await m.registry.metrics();
    expect(text).toContain('icegate_allocate_requests_total{transport="udp",result="ok"} 5');
    expect(text).toContain('icegate_allocations_active{transport="udp"} 0');
    expect(() => ok.inc(-1)).toThrow(RangeError);
  });

  it("seriesByKey binds a series on its key's first use only, and keys stay apart", async () => {
    const m = createMetrics({ defaultMetrics: false });
    const bound: string[] = [];
    const byResult = seriesByKey((result: 'ok' | 'challenged') => {
      bound.push(result);
      return m.allocateRequests.bound({ transport: 'tcp', result });
    });
    byResult('ok').inc();
    byResult('challenged').inc();
    byResult('ok').inc();
    expect(byResult('ok')).toBe(byResult('ok'));
    expect(bound).toEqual(['ok', 'challenged']);
    expect(await value(m.registry, METRIC_NAMES.allocateRequests, { transport: 'tcp', result: 'ok' })).toBe(
      2,
    );
    expect(
      await value(m.registry, METRIC_NAMES.allocateRequests, { transport: 'tcp', result: 'challenged' }),
    ).toBe(1);
  });
});

describe('label sets shared with other layers', () => {
  it('mirror the peer filter deny reasons exactly', () => {
    expect([...PEER_DENIAL_REASONS].sort()).toEqual([...PEER_DENY_REASONS].sort());
  });
});

describe('HTTP labels', () => {
  it('maps status codes to classes', () => {
    expect([101, 200, 204, 302, 404, 429, 500, 503, 99, 600].map(statusClass)).toEqual([
      '1xx',
      '2xx',
      '2xx',
      '3xx',
      '4xx',
      '4xx',
      '5xx',
      '5xx',
      '5xx',
      '5xx',
    ]);
  });

  it('keeps known methods and folds the rest into other', () => {
    expect(methodLabel('post')).toBe('POST');
    expect(methodLabel('PROPFIND')).toBe('other');
  });

  it('labels unmatched requests with one route value instead of the raw path', async () => {
    expect(httpRequestLabels(undefined, 'GET', 404)).toEqual({
      route: 'unmatched',
      method: 'GET',
      status_class: '4xx',
    });
    const m = createMetrics({ defaultMetrics: false });
    const end = m.httpRequestDuration.startTimer({ route: '/v1/ice-servers', method: 'POST' });
    end({ status_class: '2xx' });
    expect(
      await histogramCount(m.registry, METRIC_NAMES.httpRequestDuration, {
        route: '/v1/ice-servers',
        method: 'POST',
        status_class: '2xx',
      }),
    ).toBe(1);
  });
});
