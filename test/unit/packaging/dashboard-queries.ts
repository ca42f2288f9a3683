// Every PromQL query of the Grafana dashboard, with Grafana's variables replaced by values a
// plain Prometheus accepts, for tests that run them against a real Prometheus.
import { readFileSync } from 'node:fs';
import { repoPath } from './repo.js';

interface Panel {
  title?: string;
  targets?: { refId: string; expr: string }[];
  panels?: Panel[];
}

/** One dashboard query. */
export interface DashboardQuery {
  panel: string;
  refId: string;
  expr: string;
}

/** The queries of grafana/dashboards/icegate.json (rows' nested panels included). */
export function dashboardQueries(file = 'grafana/dashboards/icegate.json'): DashboardQuery[] {
  const dashboard = JSON.parse(readFileSync(repoPath(file), 'utf8')) as { panels: Panel[] };
  const all = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
  return all.flatMap((p) =>
    (p.targets ?? []).map((t) => ({ panel: p.title ?? '', refId: t.refId, expr: t.expr })),
  );
}

/** Values for Grafana's variables: the dashboard's own ($job, $breakdown) and the built-in ones. */
export interface GrafanaVariables {
  job: string;
  breakdown: string;
  /** $__rate_interval and $__interval: at least four scrape intervals. */
  rateInterval: string;
}

/** The query with every `$name` / `${name}` variable replaced; throws on one it does not know. */
export function substituteVariables(expr: string, vars: GrafanaVariables): string {
  const values: Record<string, string> = {
    job: vars.job,
    breakdown: vars.breakdown,
    __rate_interval: vars.rateInterval,
    __interval: vars.rateInterval,
    __range: vars.rateInterval,
  };
  return expr.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (whole, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`unknown Grafana variable ${whole} in ${expr}`);
    return value;
  });
}
