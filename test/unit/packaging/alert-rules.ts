// Reads deploy/prometheus/icegate-alerts.yml for the tests: each alerting rule with its
// expression and its `signal` (the expression's query without the threshold).
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { repoPath } from './repo.js';

/** The rules file, repository-relative. */
export const ALERTS_FILE = 'deploy/prometheus/icegate-alerts.yml';
/** Its promtool unit tests. */
export const ALERTS_TEST_FILE = 'deploy/prometheus/icegate-alerts.test.yml';
/** The chart's copy. */
export const CHART_ALERTS_FILE = 'helm/icegate/files/icegate-alerts.yml';

/** One alerting rule. */
export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** Every alerting rule of the file, in order. */
export function alertRules(): AlertRule[] {
  const doc = parse(readFileSync(repoPath(ALERTS_FILE), 'utf8')) as { groups: { rules: AlertRule[] }[] };
  return doc.groups.flatMap((g) => g.rules).filter((r) => typeof r.alert === 'string');
}

/** Whitespace folded to single spaces, for comparing an expression with its signal. */
export function folded(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
