// The alerting rules (issue 18 point 5): promtool accepts the file and passes its unit tests;
// every alert carries the annotations on-call reads, a signal that is part of its expression and a
// runbook in docs/operations.md; every metric it reads exists; the chart ships the same file.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createMetrics } from '../../../src/metrics/metrics.js';
import { registerReissueRequestGauges } from '../../../src/metrics/reissue-request-gauges.js';
import { ALERTS_FILE, ALERTS_TEST_FILE, alertRules, CHART_ALERTS_FILE, folded } from './alert-rules.js';
import { metricNames } from './promql.js';
import { repoPath } from './repo.js';

function promtool(...args: string[]): { status: number | null; output: string } {
  const run = spawnSync('promtool', args, { cwd: repoPath('.'), encoding: 'utf8', timeout: 60_000 });
  if (run.error) {
    throw new Error(
      `promtool not runnable (${run.error.message}): install the Debian package prometheus (.ci/run does)`,
    );
  }
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

const rules = alertRules();
const REQUIRED_ALERTS = [
  'IcegateTargetDown',
  'IcegateAllocationFailureRatio',
  'IcegateAuthFailureSpike',
  'IcegateQuotaRefusals',
  'IcegatePeerDenialSpike',
  'IcegateDrainStuck',
  'IcegateRedisErrors',
  'IcegateStoreErrors',
  'IcegateEventLoopLag',
  'IcegateRelayPortsNearExhaustion',
  'IcegateTlsCertificateExpiresSoon',
  'IcegateReissueRequestOverdue',
];

describe(ALERTS_FILE, () => {
  it('passes promtool check rules', () => {
    const run = promtool('check', 'rules', ALERTS_FILE);
    expect(run.output).toContain('SUCCESS');
    expect(run.status, run.output).toBe(0);
  });

  it('passes its promtool unit tests, which cover every alert', () => {
    const run = promtool('test', 'rules', ALERTS_TEST_FILE);
    expect(run.status, run.output).toBe(0);
    const tests = parse(readFileSync(repoPath(ALERTS_TEST_FILE), 'utf8')) as {
      tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[];
    };
    const fired = new Set(
      tests.tests.flatMap((t) => (t.alert_rule_test ?? []).filter((a) => a.exp_alerts.length > 0)),
    );
    for (const name of new Set(rules.map((r) => r.alert))) {
      expect(
        [...fired].some((a) => a.alertname === name),
        `${name} has a firing test`,
      ).toBe(true);
    }
  });

  it('has the alerts on-call needs', () => {
    for (const name of REQUIRED_ALERTS) expect(rules.map((r) => r.alert)).toContain(name);
  });

  it('gives every alert a severity, summary, description, signal and runbook', () => {
    const operations = readFileSync(repoPath('docs/operations.md'), 'utf8');
    const anchors = new Set(
      [...operations.matchAll(/^#{2,4} (.+)$/gm)].map((m) =>
        m[1]!
          .trim()
          .toLowerCase()
          .replace(/[^a-z0-9 -]/g, '')
          .replace(/ /g, '-'),
      ),
    );
    for (const rule of rules) {
      expect(['critical', 'warning', 'info'], rule.alert).toContain(rule.labels.severity);
      for (const key of ['summary', 'description', 'signal', 'runbook']) {
        expect(rule.annotations[key]?.trim(), `${rule.alert} ${key}`).toBeTruthy();
      }
      // The signal is the expression's own query: what it shows is what the alert judges.
      expect(folded(rule.expr), rule.alert).toContain(folded(rule.annotations.signal!));
      const anchor = /^docs\/operations\.md#(.+)$/.exec(rule.annotations.runbook!)?.[1];
      expect(anchor, rule.alert).toBeDefined();
      expect(anchors.has(anchor!), `${rule.alert}: no heading for #${anchor} in docs/operations.md`).toBe(
        true,
      );
    }
  });

  it('reads only metrics icegate exports (or Prometheus and prom-client standard ones)', () => {
    const { registry } = createMetrics({ version: 'test' });
    // The reissue-request gauges are registered where the queue is wired (src/main.ts).
    registerReissueRequestGauges(registry, async () => ({ pending: 0, overdue: 0 }));
    const known = new Set(registry.getMetricsAsArray().map((m) => m.name));
    for (const rule of rules) {
      for (const name of metricNames(rule.expr)) {
        expect(known.has(name) || name === 'up', `${rule.alert}: ${name}`).toBe(true);
      }
    }
  });

  it('is shipped unchanged in the Helm chart, as a PrometheusRule that is off by default', () => {
    expect(readFileSync(repoPath(CHART_ALERTS_FILE), 'utf8')).toBe(
      readFileSync(repoPath(ALERTS_FILE), 'utf8'),
    );
    const template = readFileSync(repoPath('helm/icegate/templates/prometheusrule.yaml'), 'utf8');
    expect(template).toMatch(/^\{\{- if \.Values\.prometheusRule\.enabled \}\}/);
    expect(template).toContain('kind: PrometheusRule');
    expect(template).toContain('.Files.Get "files/icegate-alerts.yml"');
    const values = parse(readFileSync(repoPath('helm/icegate/values.yaml'), 'utf8')) as {
      prometheusRule: { enabled: boolean };
    };
    expect(values.prometheusRule.enabled).toBe(false);
  });
});
