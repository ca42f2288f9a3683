// A real Prometheus (Debian's package, run here with its own config in a temporary directory,
// scraping loopback every second and evaluating deploy/prometheus/icegate-alerts.yml) against a
// live icegate node (PostgreSQL, Redis, UDP/TCP/TLS) while coturn's turnutils_uclient relays
// through it and the credential endpoint is called (issue 18 point 5). Every dashboard query and
// every alert expression is then run over Prometheus' HTTP API: none errors, every rule evaluates
// healthy, and every dashboard query and every alert's signal returns series, except the few that
// are empty by nature (listed below, each with why).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PORTS } from '../helpers/ports.js';
import { makeTestCertificate, type TestCertificate } from '../helpers/tls-cert.js';
import { runUclient } from '../helpers/uclient.js';
import { alertRules, folded } from '../unit/packaging/alert-rules.js';
import { dashboardQueries, substituteVariables } from '../unit/packaging/dashboard-queries.js';
import { repoPath } from '../unit/packaging/repo.js';
import {
  type GateNode,
  iceServers,
  ordersAt,
  type SharedServices,
  sharedServices,
  startEchoPeer,
  startGateNode,
  TEST_TURN_SECRET,
  tenantToken,
  tenantWithKey,
} from './gate-harness.js';

const block = PORTS.prometheusLive;
/** Prometheus' web port and the node's TLS port: fixed ports inside this file's range (16000-16999). */
const PROMETHEUS_PORT = 16999;
const TURN_TLS_PORT = 16998;
const JOB = 'icegate';

/**
 * Alert signals that have no series while things are well, and why. Judged on the signal, not the
 * expression: IcegateReissueRequestOverdue's expression is empty while nothing is overdue, but its
 * signal, max(icegate_reissue_requests_overdue), is one series at 0 and so is not listed here.
 */
const EMPTY_BY_NATURE_SIGNALS: Record<string, string> = {
  IcegateTargetsAbsent: 'absent() returns a series only when no icegate target exists at all',
};
/** Dashboard queries that are empty while things are well, and why. */
const EMPTY_BY_NATURE_QUERIES: Record<string, string> = {
  'Firing icegate alerts A':
    'ALERTS has firing series only while an alert fires (the TLS one is pending here)',
};

let services: SharedServices;
let certificate: TestCertificate;
let gate: GateNode;
let peer: ChildProcess;
let prometheus: ChildProcess | undefined;
let prometheusDir: string;
let prometheusLog = '';

interface QueryAnswer {
  status: 'success' | 'error';
  error?: string;
  data?: { resultType: string; result: unknown[] };
}

async function query(expr: string): Promise<QueryAnswer> {
  const url = `http://127.0.0.1:${PROMETHEUS_PORT}/api/v1/query?query=${encodeURIComponent(expr)}`;
  const response = await fetch(url);
  return (await response.json()) as QueryAnswer;
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`${what} not within ${timeoutMs} ms; Prometheus said:\n${prometheusLog.slice(-3000)}`);
}

/** The port the node serves /metrics on. */
function metricsPort(node: GateNode): number {
  return node.node.metricsPort();
}

async function startPrometheus(target: number): Promise<void> {
  prometheusDir = await mkdtemp(join(tmpdir(), 'icegate-prometheus-'));
  const config = [
    'global:',
    '  scrape_interval: 1s',
    '  evaluation_interval: 1s',
    'rule_files:',
    `  - ${JSON.stringify(repoPath('deploy/prometheus/icegate-alerts.yml'))}`,
    'scrape_configs:',
    `  - job_name: ${JOB}`,
    '    static_configs:',
    `      - targets: ["127.0.0.1:${target}"]`,
    '',
  ].join('\n');
  await writeFile(join(prometheusDir, 'prometheus.yml'), config);
  prometheus = spawn(
    'prometheus',
    [
      `--config.file=${join(prometheusDir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(prometheusDir, 'data')}`,
      `--web.listen-address=127.0.0.1:${PROMETHEUS_PORT}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  prometheus.on('error', (err) => {
    prometheusLog += `spawn failed: ${err.message} (install the Debian package prometheus; .ci/run does)\n`;
  });
  prometheus.stdout?.on('data', (chunk: Buffer) => {
    prometheusLog += chunk.toString();
  });
  prometheus.stderr?.on('data', (chunk: Buffer) => {
    prometheusLog += chunk.toString();
  });
  await until(
    'Prometheus ready',
    async () => (await fetch(`http://127.0.0.1:${PROMETHEUS_PORT}/-/ready`)).ok,
    30_000,
  );
}

beforeAll(async () => {
  services = await sharedServices();
  certificate = await makeTestCertificate();
  gate = await startGateNode(
    block,
    {
      ...services.env,
      TURN_TLS_CERT: certificate.certFile,
      TURN_TLS_KEY: certificate.keyFile,
      TURN_TLS_PORT: String(TURN_TLS_PORT),
    },
    { redisPrefix: services.redisPrefix },
  );
  peer = await startEchoPeer(block.peer);
  await startPrometheus(metricsPort(gate));

  // Traffic: an entitled tenant, credential requests, and coturn's client over UDP, TCP and TLS.
  const key = await tenantWithKey(gate.url, 'acme', ordersAt.active(Date.now()));
  for (let i = 0; i < 5; i++) {
    expect((await iceServers(gate.url, tenantToken(key, Date.now()))).status).toBe(200);
  }
  const common = {
    secret: TEST_TURN_SECRET,
    port: gate.turnPort,
    peerPort: block.peer,
    clients: 3,
    messages: 40,
  };
  const runs = await Promise.all([
    runUclient({ ...common, flags: ['-X', '-c'] }),
    runUclient({ ...common, flags: ['-t', '-X', '-c'] }),
    runUclient({ ...common, port: TURN_TLS_PORT, flags: ['-t', '-S', '-X', '-c'] }),
  ]);
  for (const run of runs) expect(run.output).toMatch(/Total lost packets/);

  // Traffic has been scraped (several times, so rates have two points) and rules evaluated.
  await until(
    'allocations scraped',
    async () => {
      const answer = await query(`sum(icegate_allocate_requests_total{job="${JOB}", result="ok"})`);
      const value = (answer.data?.result[0] as { value?: [number, string] } | undefined)?.value?.[1];
      return Number(value) >= 9;
    },
    20_000,
  );
  await new Promise((resolve) => setTimeout(resolve, 5_000));
}, 120_000);

afterAll(async () => {
  prometheus?.kill('SIGTERM');
  peer?.kill('SIGTERM');
  await gate?.close();
  await services?.dispose();
  await certificate?.dispose();
  if (prometheusDir !== undefined) await rm(prometheusDir, { recursive: true, force: true });
});

describe('a real Prometheus scraping a live icegate under coturn-client load', () => {
  it('counts the handshake challenge apart: auth_failed stays 0 while ok and challenged grow', async () => {
    const sum = async (result: string) => {
      const answer = await query(`sum(icegate_allocate_requests_total{job="${JOB}", result="${result}"})`);
      const sample = answer.data?.result[0] as { value: [number, string] } | undefined;
      if (sample === undefined) throw new Error(`no series for result=${result}: ${JSON.stringify(answer)}`);
      return Number(sample.value[1]);
    };
    expect(await sum('ok')).toBeGreaterThanOrEqual(9);
    expect(await sum('challenged')).toBeGreaterThanOrEqual(await sum('ok'));
    expect(await sum('auth_failed')).toBe(0);
  });

  it('runs every dashboard query without error, each returning series', async () => {
    const queries = dashboardQueries();
    expect(queries.length).toBeGreaterThan(20);
    const empty: string[] = [];
    for (const q of queries) {
      const expr = substituteVariables(q.expr, { job: JOB, breakdown: 'instance', rateInterval: '10s' });
      const answer = await query(expr);
      expect(answer.status, `${q.panel} ${q.refId}: ${expr}: ${answer.error}`).toBe('success');
      if ((answer.data?.result.length ?? 0) === 0) empty.push(`${q.panel} ${q.refId}`);
    }
    expect(empty).toEqual(Object.keys(EMPTY_BY_NATURE_QUERIES));
  });

  it('runs every alert expression without error and every signal returns series', async () => {
    const rules = alertRules();
    const empty: string[] = [];
    for (const rule of rules) {
      const expr = await query(folded(rule.expr));
      expect(expr.status, `${rule.alert}: ${rule.expr}: ${expr.error}`).toBe('success');
      const signal = await query(rule.annotations.signal!);
      expect(signal.status, `${rule.alert} signal: ${signal.error}`).toBe('success');
      if ((signal.data?.result.length ?? 0) === 0) empty.push(rule.alert);
    }
    expect([...new Set(empty)]).toEqual(Object.keys(EMPTY_BY_NATURE_SIGNALS));
  });

  it('evaluates every rule healthy; only the TLS alert is on, for the two-day test certificate', async () => {
    const response = await fetch(`http://127.0.0.1:${PROMETHEUS_PORT}/api/v1/rules?type=alert`);
    const body = (await response.json()) as {
      data: { groups: { rules: { name: string; health: string; lastError?: string; state: string }[] }[] };
    };
    const rules = body.data.groups.flatMap((g) => g.rules);
    expect(rules.length).toBe(alertRules().length);
    for (const rule of rules) {
      expect(rule.health, `${rule.name}: ${rule.lastError}`).toBe('ok');
      // The notAfter metric reached the rule: the test certificate expires in two days, well within
      // both thresholds (pending: the rules wait `for` 1 h and 10 min before firing).
      const expected = rule.name === 'IcegateTlsCertificateExpiresSoon' ? 'pending' : 'inactive';
      expect(rule.state, rule.name).toBe(expected);
    }
  });
});
