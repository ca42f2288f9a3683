import { readFileSync } from 'node:fs';
import { Histogram } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createMetrics, EVENT_LOOP_SAMPLE_MS } from '../../../src/metrics/metrics.js';
import { counterFunctionRanges, metricNames } from './promql.js';
import { repoPath } from './repo.js';

interface Target {
  refId: string;
  expr: string;
  datasource?: { type?: string; uid?: string };
}

interface Panel {
  id: number;
  type: string;
  title?: string;
  description?: string;
  datasource?: { type?: string; uid?: string };
  gridPos: { x: number; y: number; w: number; h: number };
  fieldConfig?: { defaults?: { unit?: string } };
  targets?: Target[];
  panels?: Panel[];
}

interface Variable {
  name: string;
  type: string;
  query: string | { query: string };
  datasource?: { type?: string; uid?: string };
}

interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: Variable[] };
}

// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a template literal.
const DATASOURCE_UID = '${datasource}';
const dashboard = JSON.parse(readFileSync(repoPath('grafana/dashboards/icegate.json'), 'utf8')) as Dashboard;
const allPanels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
const panels = allPanels.filter((p) => p.type !== 'row');
const targets = panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title ?? '', ...t })));

/** Series Prometheus itself makes: scrape health and the alerts it evaluates (on-call row). */
const PROMETHEUS_SERIES = new Set(['up', 'ALERTS']);

/** The registry metric a series name belongs to: histogram parts map to their histogram. */
function registryMetricFor(name: string, registry: ReturnType<typeof createMetrics>['registry']) {
  const direct = registry.getSingleMetric(name);
  if (direct) return direct;
  const part = /^(.*)_(bucket|sum|count)$/.exec(name);
  const base = part ? registry.getSingleMetric(part[1]!) : undefined;
  return base instanceof Histogram ? base : undefined;
}

describe('PromQL reading used by the dashboard checks', () => {
  it('finds metric names and ignores functions, labels, strings and grouping', () => {
    expect(
      metricNames(
        'histogram_quantile(0.95, sum by (le, route) (rate(icegate_x_bucket{route=~"/v1/a|b", job=~"$job"}[$__rate_interval])))',
      ),
    ).toEqual(['icegate_x_bucket']);
    expect(metricNames('sum(rate(a_total[5m])) / on (pod) group_left sum(b) * 8 > bool 1e3').sort()).toEqual([
      'a_total',
      'b',
    ]);
    expect(metricNames('max by ($breakdown) (nodejs_eventloop_lag_p99_seconds)')).toEqual([
      'nodejs_eventloop_lag_p99_seconds',
    ]);
  });

  it('reports the range of every rate and increase call', () => {
    expect(
      counterFunctionRanges('sum(rate(a[5m])) + increase(b{x="y"}[$__rate_interval]) + irate(c)'),
    ).toEqual([
      { fn: 'rate', range: '5m' },
      { fn: 'increase', range: '$__rate_interval' },
      { fn: 'irate', range: '' },
    ]);
  });
});

describe('grafana/dashboards/icegate.json', () => {
  const metrics = createMetrics({ version: 'test' });

  it('has a templated Prometheus datasource variable', () => {
    const ds = dashboard.templating.list.find((v) => v.name === 'datasource');
    expect(ds?.type).toBe('datasource');
    expect(ds?.query).toBe('prometheus');
    expect(dashboard.uid).toBe('icegate-fleet');
  });

  it('uses the datasource variable in every panel, target and query variable', () => {
    expect(panels.length).toBeGreaterThanOrEqual(12);
    for (const p of panels) {
      expect(p.datasource?.uid, p.title).toBe(DATASOURCE_UID);
      expect(p.datasource?.type, p.title).toBe('prometheus');
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
    }
    for (const t of targets) expect(t.datasource?.uid, `${t.panel} ${t.refId}`).toBe(DATASOURCE_UID);
    for (const v of dashboard.templating.list.filter((x) => x.type === 'query')) {
      expect(v.datasource?.uid, v.name).toBe(DATASOURCE_UID);
    }
  });

  it('gives every panel a title, a description and a unit', () => {
    for (const p of allPanels) expect(p.title?.trim(), `panel ${p.id}`).toBeTruthy();
    for (const p of panels) {
      expect(p.description?.trim(), p.title).toBeTruthy();
      expect(p.fieldConfig?.defaults?.unit?.trim(), p.title).toBeTruthy();
    }
    const ids = allPanels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('lays panels out on the 24-column grid without overlaps', () => {
    for (const p of allPanels) expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
    for (const [i, a] of allPanels.entries()) {
      for (const b of allPanels.slice(i + 1)) {
        const overlap =
          a.gridPos.x < b.gridPos.x + b.gridPos.w &&
          b.gridPos.x < a.gridPos.x + a.gridPos.w &&
          a.gridPos.y < b.gridPos.y + b.gridPos.h &&
          b.gridPos.y < a.gridPos.y + a.gridPos.h;
        expect(overlap, `${a.title} / ${b.title}`).toBe(false);
      }
    }
  });

  it('uses $__rate_interval in every rate() and increase()', () => {
    let calls = 0;
    for (const t of targets) {
      for (const call of counterFunctionRanges(t.expr)) {
        calls++;
        expect(call.range, `${t.panel}: ${t.expr}`).toBe('$__rate_interval');
      }
      expect(t.expr, t.panel).not.toMatch(/\$__interval\b/);
    }
    expect(calls).toBeGreaterThan(10);
  });

  it("queries only metrics that exist in icegate's registry", () => {
    const queries = [
      ...targets.map((t) => ({ where: t.panel, expr: t.expr })),
      ...dashboard.templating.list
        .filter((v) => v.type === 'query')
        .map((v) => ({
          where: `variable ${v.name}`,
          expr: (typeof v.query === 'string' ? v.query : v.query.query).replace(
            /^label_values\((.*),\s*\w+\)$/,
            '$1',
          ),
        })),
    ];
    for (const q of queries) {
      const names = metricNames(q.expr);
      expect(names.length, `${q.where}: ${q.expr}`).toBeGreaterThan(0);
      for (const name of names) {
        if (PROMETHEUS_SERIES.has(name)) continue;
        expect(registryMetricFor(name, metrics.registry), `${q.where}: ${name}`).toBeDefined();
      }
    }
  });

  it('covers the fleet views the operators asked for', () => {
    const queried = new Set(targets.flatMap((t) => metricNames(t.expr)));
    for (const name of [
      'icegate_allocations_active',
      'icegate_relayed_bytes_total',
      'icegate_relayed_packets_total',
      'icegate_allocate_requests_total',
      'icegate_allocations_ended_total',
      'icegate_auth_failures_total',
      'icegate_peer_denials_total',
      'icegate_quota_refusals_total',
      'icegate_credential_requests_total',
      'icegate_http_request_duration_seconds_bucket',
      'icegate_entitlement_cache_lookups_total',
      'icegate_redis_errors_total',
      'icegate_store_errors_total',
      'nodejs_eventloop_lag_p99_seconds',
    ]) {
      expect(queried.has(name), name).toBe(true);
    }
    const bitRate = panels.find((p) => p.title === 'Relayed bit rate by direction');
    expect(bitRate?.fieldConfig?.defaults?.unit).toBe('bps');
    expect(bitRate?.targets?.[0]?.expr).toMatch(/sum by \(direction\).*\* 8$/);
    const latency = targets.filter((t) => t.expr.startsWith('histogram_quantile(0.95'));
    expect(latency.some((t) => t.expr.includes('icegate_http_request_duration_seconds_bucket'))).toBe(true);
    const perPod = targets.filter((t) => /by \(\$breakdown\)/.test(t.expr));
    expect(perPod.length).toBeGreaterThanOrEqual(3);
    const breakdown = dashboard.templating.list.find((v) => v.name === 'breakdown');
    expect(breakdown?.query).toBe('instance,pod');
  });

  it('shows event-loop lag without the sampling interval that prom-client includes in it', () => {
    const lag = panels.find((p) => p.title === 'Event-loop lag per pod (p99)');
    expect(lag?.targets?.[0]?.expr).toBe(
      `max by ($breakdown) (nodejs_eventloop_lag_p99_seconds{job=~"$job"}) - ${EVENT_LOOP_SAMPLE_MS / 1000}`,
    );
    expect(lag?.description).toContain(`${EVENT_LOOP_SAMPLE_MS} ms sampling interval`);
  });
});

describe('grafana/provisioning', () => {
  it('provisions a Prometheus datasource', () => {
    const doc = parse(readFileSync(repoPath('grafana/provisioning/datasources/prometheus.yaml'), 'utf8'));
    expect(doc.apiVersion).toBe(1);
    expect(doc.datasources).toHaveLength(1);
    expect(doc.datasources[0]).toMatchObject({ type: 'prometheus', access: 'proxy' });
    expect(doc.datasources[0].url).toMatch(/^https?:\/\//);
  });

  it('provisions the dashboards folder from files', () => {
    const doc = parse(readFileSync(repoPath('grafana/provisioning/dashboards/icegate.yaml'), 'utf8'));
    expect(doc.apiVersion).toBe(1);
    expect(doc.providers[0]).toMatchObject({ type: 'file', name: 'icegate' });
    expect(doc.providers[0].options.path).toBe('/var/lib/grafana/dashboards/icegate');
  });
});
