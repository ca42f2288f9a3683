// RelayObserver as the source of allocation metrics and refusal logs (issue 18): the first 401
// challenge of every Allocate is counted apart from real authentication failures; refusals of a
// tenant are summed per reason into one line per interval; authentication failures and peer
// denials are logged as rate-limited samples that say how many were left out.
import { describe, expect, it } from 'vitest';
import { RelayObserver } from '../../../src/composition/relay-observer.js';
import type { Logger } from '../../../src/log/logger.js';
import { createMetrics, type IcegateMetrics } from '../../../src/metrics/metrics.js';
import { FiveTuple } from '../../../src/turn/index.js';
import { makeCore } from '../turn/harness.js';

interface Line {
  level: string;
  message: string;
  fields: Record<string, unknown>;
}

function recordingLogger(lines: Line[], base: Record<string, unknown> = {}): Logger {
  const add = (level: string) => (message: string, fields?: Record<string, unknown>) => {
    lines.push({ level, message, fields: { ...base, ...fields } });
  };
  return {
    error: add('error'),
    warn: add('warn'),
    info: add('info'),
    debug: add('debug'),
    child: (fields) => recordingLogger(lines, { ...base, ...fields }),
  };
}

async function value(metrics: IcegateMetrics, name: string, labels: Record<string, string>): Promise<number> {
  const { values } = await metrics.registry.getSingleMetric(name)!.get();
  return values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value ?? 0;
}

const allocateResult = (metrics: IcegateMetrics, result: string) =>
  value(metrics, 'icegate_allocate_requests_total', { transport: 'udp', result });

function setup(options: { sampleBurst?: number } = {}) {
  const lines: Line[] = [];
  const metrics = createMetrics({ defaultMetrics: false });
  const clock = { now: 1_000_000 };
  const observer = new RelayObserver(metrics, recordingLogger(lines), undefined, () => clock.now, {
    refusalIntervalMs: 3_600_000, // flushed by hand
    sampleBurst: options.sampleBurst ?? 5,
    sampleIntervalMs: 10_000,
  });
  const core = makeCore({ extraEvents: observer.events() });
  return { lines, metrics, clock, observer, core };
}

describe('RelayObserver: Allocate results', () => {
  it('counts the first 401 of a clean Allocate as challenged, not auth_failed', async () => {
    const { metrics, core, observer } = setup();
    for (let i = 0; i < 7; i++) expect(core.client('acme').allocate().code).toBe(200);
    expect(await allocateResult(metrics, 'ok')).toBe(7);
    expect(await allocateResult(metrics, 'challenged')).toBe(7);
    expect(await allocateResult(metrics, 'auth_failed')).toBe(0);
    observer.close();
  });

  it('keeps auth_failed for credentials that do not verify', async () => {
    const { metrics, core, observer } = setup();
    const forger = core.client('acme', { secret: 'not-the-secret' });
    expect(forger.allocate().code).toBe(401);
    expect(await allocateResult(metrics, 'challenged')).toBe(1);
    expect(await allocateResult(metrics, 'auth_failed')).toBe(1);
    expect(await value(metrics, 'icegate_auth_failures_total', { reason: 'bad_integrity' })).toBe(1);
    observer.close();
  });

  it('counts a 438 (stale nonce, retried with the fresh one) as challenged', async () => {
    const { metrics, core, observer } = setup();
    const client = core.client('acme');
    client.challenge();
    core.advance(700_000); // past the 600 s nonce lifetime, within the credential's hour
    const stale = client.allocate();
    expect(stale.code).toBe(438);
    expect(await allocateResult(metrics, 'challenged')).toBe(2);
    expect(await allocateResult(metrics, 'auth_failed')).toBe(0);
    observer.close();
  });
});

describe('RelayObserver: refusal lines', () => {
  it('writes one line per tenant and reason per interval, with the count and since when', () => {
    const { lines, core, observer, clock } = setup();
    const events = observer.events();
    for (let i = 0; i < 1330; i++) events.quotaRefused?.('busy', 20);
    for (let i = 0; i < 3; i++) events.authorizeDenied?.('lapsed', 'support_expired', 'allocate');
    events.authorizeDenied?.('busy', 'Allocation Quota Reached', 'allocate');
    const refused = () => lines.filter((l) => l.message === 'TURN requests refused');
    expect(refused()).toHaveLength(0);

    const firstStart = clock.now;
    clock.now += 30_000;
    observer.close(); // flushes
    const summary = refused().map((l) => [l.fields.tenant, l.fields.reason, l.fields.count]);
    expect(summary).toEqual([
      ['busy', 'quota_exceeded', 1330],
      ['lapsed', 'support_expired', 3],
      ['busy', 'fleet_quota_exceeded', 1],
    ]);
    expect(refused()[0]!.fields.since).toBe(new Date(firstStart).toISOString());
    expect(refused()[0]!.fields.intervalSeconds).toBe(30);
    expect(core.events.quotaRefused).toHaveLength(0); // driven by hand, not by the core
  });
});

describe('RelayObserver: sampled lines', () => {
  it('logs authentication failures with reason and source, a burst then one per interval', () => {
    const { lines, observer, clock } = setup({ sampleBurst: 3 });
    const events = observer.events();
    const tuple = new FiveTuple(
      'udp',
      { family: 'IPv4', address: '198.51.100.7', port: 5000 },
      { family: 'IPv4', address: '192.0.2.1', port: 3478 },
    );
    for (let i = 0; i < 100; i++) events.authFailed?.('bad-integrity', tuple);
    const failures = () => lines.filter((l) => l.message === 'TURN authentication failed');
    expect(failures()).toHaveLength(3);
    expect(failures()[0]!.fields).toMatchObject({
      reason: 'bad_integrity',
      source: '198.51.100.7:5000',
      transport: 'udp',
      component: 'relay',
    });
    clock.now += 10_000;
    events.authFailed?.('bad-integrity', tuple);
    expect(failures()).toHaveLength(4);
    expect(failures()[3]!.fields.suppressedBefore).toBe(97);
    // Another reason has its own allowance.
    events.authFailed?.('expired-username', tuple);
    expect(failures()).toHaveLength(5);
    observer.close();
  });

  it('logs peer denials from the core with tenant, source, peer and reason', () => {
    const { lines, core, observer } = setup();
    const client = core.client('acme');
    expect(client.allocate().code).toBe(200);
    const denied = client.createPermission({ family: 'IPv4', address: '10.0.0.1', port: 0 });
    expect(denied.code).toBe(403);
    const line = lines.find((l) => l.message === 'peer address denied');
    expect(line?.fields).toMatchObject({ tenant: 'acme', peer: '10.0.0.1:0', transport: 'udp' });
    expect(String(line?.fields.source)).toMatch(/^203\.0\.113\.5:\d+$/);
    expect(line?.fields.reason).toBe('private');
    observer.close();
  });
});
