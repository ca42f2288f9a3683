// The chart rendered by the real helm (v4; scripts/kube-tools.mjs fetches it): lint, the
// required-secret failure, every example and a matrix of values, each rendered for the oldest
// and newest Kubernetes whose API schemas are installed; every object validated against those
// schemas (k8s-schema.ts); and the facts the relay depends on checked on what was rendered.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { openApiDocument } from '../../../src/http/openapi.js';
import { MIN_DRAIN_MARGIN_SECONDS } from './design-config.js';
import { helm } from './helm-binary.js';
import { type K8sObject, KUBERNETES_SCHEMAS, schemaErrors, unknownFieldErrors } from './k8s-schema.js';
import { repoPath } from './repo.js';

const CHART = repoPath('helm/icegate');
const EXAMPLES = readdirSync(join(CHART, 'examples')).filter((f) => f.endsWith('.yaml'));
const SECRET = { secrets: { existingSecret: 'icegate-secrets' } };
const LB = {
  kind: 'Deployment',
  mode: 'LoadBalancer',
  replicaCount: 1,
  turn: { externalIP: '203.0.113.10', minPort: 49152, maxPort: 49161 },
};

/** One rendering of the chart: values over the defaults, and the kinds it must produce. */
interface RenderCase {
  name: string;
  values?: Record<string, unknown>;
  /** A file under helm/icegate/examples instead of (or under) `values`. */
  example?: string;
  kinds: string[];
}

// The HTTP Service and the metrics Service (METRICS_PORT, scraped by the ServiceMonitor) are always there.
const BASE_KINDS = ['ConfigMap', 'Service', 'Service', 'ServiceAccount'];

/** The values matrix: add a line to check another combination. */
const MATRIX: RenderCase[] = [
  {
    name: 'hostNetwork DaemonSet, TLS off',
    values: SECRET,
    kinds: [...BASE_KINDS, 'DaemonSet', 'PodDisruptionBudget'],
  },
  {
    name: 'hostNetwork DaemonSet, TLS on, Redis, PostgreSQL, ServiceMonitor',
    values: {
      ...SECRET,
      tls: { enabled: true, existingSecret: 'icegate-tls' },
      redis: { enabled: true },
      database: { enabled: true },
      serviceMonitor: { enabled: true },
    },
    kinds: [...BASE_KINDS, 'DaemonSet', 'PodDisruptionBudget', 'ServiceMonitor'],
  },
  {
    name: 'hostNetwork Deployment with an HPA',
    values: { ...SECRET, kind: 'Deployment', hpa: { enabled: true } },
    kinds: [...BASE_KINDS, 'Deployment', 'HorizontalPodAutoscaler', 'PodDisruptionBudget'],
  },
  {
    name: 'hostNetwork Deployment, PDB by minAvailable, a short grace period',
    values: {
      ...SECRET,
      kind: 'Deployment',
      replicaCount: 3,
      pdb: { minAvailable: 2 },
      terminationGracePeriodSeconds: 60,
      preStopSleepSeconds: 5,
      drainMarginSeconds: 10,
    },
    kinds: [...BASE_KINDS, 'Deployment', 'PodDisruptionBudget'],
  },
  {
    name: 'hostNetwork DaemonSet without PDB',
    values: { ...SECRET, pdb: { enabled: false } },
    kinds: [...BASE_KINDS, 'DaemonSet'],
  },
  {
    name: 'LoadBalancer, TLS off',
    values: { ...SECRET, ...LB },
    kinds: [...BASE_KINDS, 'Service', 'Deployment', 'PodDisruptionBudget'],
  },
  {
    name: 'LoadBalancer, TLS on, ServiceMonitor, PrometheusRule, Ingress',
    values: {
      ...SECRET,
      ...LB,
      tls: { enabled: true, existingSecret: 'icegate-tls' },
      serviceMonitor: { enabled: true },
      prometheusRule: { enabled: true },
      ingress: {
        enabled: true,
        className: 'nginx',
        hosts: [{ host: 'turn-api.example.com', paths: ['/v1'] }],
      },
    },
    kinds: [
      ...BASE_KINDS,
      'Service',
      'Deployment',
      'PodDisruptionBudget',
      'ServiceMonitor',
      'PrometheusRule',
      'Ingress',
    ],
  },
  ...EXAMPLES.map((example) => ({
    name: `examples/${example}`,
    example,
    kinds:
      example === 'hostnetwork-values.yaml'
        ? [...BASE_KINDS, 'DaemonSet', 'PodDisruptionBudget', 'ServiceMonitor', 'Ingress']
        : [...BASE_KINDS, 'Service', 'Deployment', 'PodDisruptionBudget', 'ServiceMonitor'],
  })),
];

/** Values the chart must refuse, with the message it refuses them with. */
const REFUSED: { name: string; values: Record<string, unknown>; error: RegExp }[] = [
  {
    name: 'the defaults (no Secret named)',
    values: {},
    error:
      /secrets\.existingSecret: name an existing Secret with the keys TURN_SECRETS and ADMIN_TOKEN_SECRET/,
  },
  {
    name: 'a grace period the preStop pause and the drain margin leave nothing of',
    values: { ...SECRET, terminationGracePeriodSeconds: 40, preStopSleepSeconds: 10, drainMarginSeconds: 30 },
    error:
      /terminationGracePeriodSeconds \(40\) must exceed preStopSleepSeconds \(10\) \+ drainMarginSeconds \(30\)/,
  },
  {
    name: 'closing days that are not MM-DD days or ranges',
    values: { ...SECRET, supportClosingDays: 'August 13-15' },
    error: /supportClosingDays/,
  },
  {
    name: 'a relay socket buffer below 64 KiB',
    values: { ...SECRET, turn: { relaySocketBuffer: 4096 } },
    error: /relaySocketBuffer/,
  },
];

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'icegate-helm-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let fileCount = 0;
async function template(
  values: Record<string, unknown> | undefined,
  example: string | undefined,
  kubeVersion: string,
) {
  const args = ['template', 'icegate', CHART, '--namespace', 'relay', '--kube-version', kubeVersion];
  if (example !== undefined) args.push('-f', join(CHART, 'examples', example));
  if (values !== undefined) {
    const file = join(dir, `values-${fileCount++}.json`);
    writeFileSync(file, JSON.stringify(values));
    args.push('-f', file);
  }
  return helm(args);
}

function objectsOf(manifest: string): K8sObject[] {
  return parseAllDocuments(manifest)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

/** A rendered object, read field by field. */
type Obj = Record<string, any>;

/** The facts icegate depends on, checked on one rendering; returns what is wrong. */
function factErrors(objects: K8sObject[]): string[] {
  const errors: string[] = [];
  const workload = objects.find((o) => o.kind === 'Deployment' || o.kind === 'DaemonSet') as Obj;
  const configMap = objects.find((o) => o.kind === 'ConfigMap') as Obj;
  const pod = workload.spec.template.spec;
  const container = pod.containers.find((c: Obj) => c.name === 'icegate');
  // The environment icegate reads: the ConfigMap, then literal env entries.
  const env: Record<string, string> = { ...configMap.data };
  for (const e of container.env ?? []) if (typeof e.value === 'string') env[e.name] = e.value;
  const ports: Obj[] = container.ports;
  const portNumber = (ref: string | number) =>
    typeof ref === 'number' ? ref : ports.find((p) => p.name === ref)?.containerPort;

  // Container ports agree with the listening ports icegate is configured with.
  const expectPort = (name: string, protocol: string, variable: string) => {
    const port = ports.find((p) => p.name === name);
    if (port === undefined) errors.push(`no container port ${name}`);
    else if (port.protocol !== protocol || String(port.containerPort) !== env[variable])
      errors.push(
        `container port ${name} ${port.containerPort}/${port.protocol}, but ${variable}=${env[variable]}`,
      );
  };
  expectPort('turn-udp', 'UDP', 'TURN_PORT');
  expectPort('turn-tcp', 'TCP', 'TURN_PORT');
  expectPort('http', 'TCP', 'HTTP_PORT');
  const tls = env.TURN_TLS_CERT !== undefined;
  if (tls) expectPort('turns', 'TCP', 'TURN_TLS_PORT');
  else if (ports.some((p) => p.name === 'turns')) errors.push('a turns port without TURN_TLS_CERT');
  const listening = new Set(
    ['TURN_PORT', 'TURN_TLS_PORT', 'HTTP_PORT', 'METRICS_PORT'].map((v) => env[v]).filter(Boolean),
  );
  for (const p of ports) {
    if (!listening.has(String(p.containerPort)))
      errors.push(`container port ${p.name} ${p.containerPort} is no listener`);
    if (pod.hostNetwork && p.hostPort !== undefined && p.hostPort !== p.containerPort)
      errors.push(`hostNetwork port ${p.name}: hostPort ${p.hostPort} != containerPort ${p.containerPort}`);
  }

  // Probes ask the HTTP listener for paths the app serves (its OpenAPI document).
  const served = openApiDocument.paths as Record<string, { get?: unknown }>;
  for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
    const get = container[probe]?.httpGet;
    if (container[probe] === undefined) continue;
    if (get === undefined) errors.push(`${probe} is not an HTTP GET`);
    else {
      if (served[get.path]?.get === undefined)
        errors.push(`${probe} asks for ${get.path}, which icegate does not serve`);
      if (String(portNumber(get.port)) !== env.HTTP_PORT)
        errors.push(`${probe} port ${get.port} is not HTTP_PORT ${env.HTTP_PORT}`);
    }
  }

  // Services reach ports the pod listens on (relay ports are the relay range's sockets).
  const min = Number(env.TURN_MIN_PORT);
  const max = Number(env.TURN_MAX_PORT);
  for (const service of objects.filter((o) => o.kind === 'Service') as Obj[]) {
    for (const sp of service.spec.ports) {
      const target = sp.targetPort ?? sp.port;
      const number = portNumber(target);
      const named = typeof target === 'string' ? ports.find((p) => p.name === target) : undefined;
      const relay = typeof target === 'number' && target >= min && target <= max && sp.protocol === 'UDP';
      if (relay) continue;
      const port =
        named ??
        ports.find((p) => p.containerPort === number && (p.protocol ?? 'TCP') === (sp.protocol ?? 'TCP'));
      if (port === undefined)
        errors.push(
          `Service ${service.metadata.name} port ${sp.name} targets ${target}/${sp.protocol}, which no container port is`,
        );
    }
  }
  // Prometheus scrapes /metrics where icegate serves it: METRICS_PORT when set, else HTTP_PORT.
  for (const monitor of objects.filter((o) => o.kind === 'ServiceMonitor') as Obj[]) {
    const http = (objects as Obj[]).find(
      (o) =>
        o.kind === 'Service' &&
        Object.entries(monitor.spec.selector.matchLabels).every(([k, v]) => o.metadata.labels?.[k] === v),
    );
    for (const endpoint of monitor.spec.endpoints) {
      const sp = http?.spec.ports.find((p: Obj) => p.name === endpoint.port);
      if (sp === undefined) {
        errors.push(`ServiceMonitor endpoint port ${endpoint.port} is on no selected Service`);
        continue;
      }
      const scraped = String(portNumber(sp.targetPort ?? sp.port));
      if (scraped !== (env.METRICS_PORT ?? env.HTTP_PORT))
        errors.push(
          `ServiceMonitor scrapes port ${scraped}, metrics are on ${env.METRICS_PORT ?? env.HTTP_PORT}`,
        );
      if (endpoint.path !== '/metrics') errors.push(`ServiceMonitor scrapes ${endpoint.path}`);
    }
  }

  // icegate's drain deadline comes before the kubelet's SIGKILL, with time to close and write usage.
  const grace = pod.terminationGracePeriodSeconds;
  const preStop =
    container.lifecycle?.preStop?.exec?.command?.[0] === 'sleep'
      ? Number(container.lifecycle.preStop.exec.command[1])
      : 0;
  const drain = Number(env.DRAIN_TIMEOUT_SECONDS);
  if (!(drain > 0)) errors.push(`DRAIN_TIMEOUT_SECONDS is ${env.DRAIN_TIMEOUT_SECONDS}`);
  if (drain + preStop + MIN_DRAIN_MARGIN_SECONDS > grace)
    errors.push(
      `drain ${drain} s + preStop ${preStop} s + ${MIN_DRAIN_MARGIN_SECONDS} s > grace period ${grace} s`,
    );
  return errors;
}

describe('helm lint --strict', () => {
  it.each(['(defaults)', ...EXAMPLES])('passes with %s', async (example) => {
    const args = ['lint', '--strict', CHART];
    if (example !== '(defaults)') args.push('-f', join(CHART, 'examples', example));
    const result = await helm(args);
    expect(result.code, result.stdout + result.stderr).toBe(0);
  });
});

describe('helm template refuses', () => {
  it.each(REFUSED)('$name', async ({ values, error }) => {
    const result = await template(values, undefined, KUBERNETES_SCHEMAS.at(-1)!.kubernetes);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(error);
  });
});

describe.each(KUBERNETES_SCHEMAS)('helm template for Kubernetes $kubernetes', (schemas) => {
  const rendered = new Map<string, K8sObject[]>();

  // helm runs as a child process: render the matrix concurrently, check the fields after.
  it.concurrent.each(MATRIX)(
    'renders $name, with the objects it should',
    async ({ values, example, kinds }) => {
      const result = await template(values, example, schemas.kubernetes);
      expect(result.code, result.stderr).toBe(0);
      const objects = objectsOf(result.stdout);
      rendered.set(`${example ?? ''}${JSON.stringify(values)}`, objects);
      expect(objects.map((o) => o.kind).sort()).toEqual([...kinds].sort());
      expect(factErrors(objects)).toEqual([]);
      const schemaProblems = (await Promise.all(objects.map((o) => schemaErrors(schemas, o)))).flat();
      expect(schemaProblems).toEqual([]);
    },
  );

  it('has no field the Kubernetes API types lack, in any rendering', () => {
    expect(rendered.size).toBe(MATRIX.length);
    expect(unknownFieldErrors(schemas, [...rendered.values()].flat())).toEqual([]);
  });
});

describe('optional tunables', () => {
  const TUNABLES = {
    TURN_ALLOCATIONS_PER_USER: '8',
    TURN_PERMISSION_LIFETIME: '120',
    TURN_CHANNEL_LIFETIME: '300',
    TURN_RELAY_SOCKET_BUFFER: '4194304',
    SUPPORT_CLOSING_DAYS: '08-13..08-16,12-28..01-04',
  };
  const configMapOf = async (values: Record<string, unknown>) => {
    const result = await template(values, undefined, KUBERNETES_SCHEMAS.at(-1)!.kubernetes);
    expect(result.code, result.stderr).toBe(0);
    return (objectsOf(result.stdout) as Obj[]).find((o) => o.kind === 'ConfigMap')!.data as Record<
      string,
      string
    >;
  };

  it('are left out of the ConfigMap by default, so icegate applies its own defaults', async () => {
    const data = await configMapOf(SECRET);
    for (const name of Object.keys(TUNABLES)) expect(data, name).not.toHaveProperty(name);
  });

  it('are passed through to the ConfigMap when set', async () => {
    const data = await configMapOf({
      ...SECRET,
      supportClosingDays: TUNABLES.SUPPORT_CLOSING_DAYS,
      turn: {
        allocationsPerUser: 8,
        permissionLifetime: 120,
        channelLifetime: 300,
        relaySocketBuffer: 4194304,
      },
    });
    expect(data).toMatchObject(TUNABLES);
  });
});

describe('the checks themselves', () => {
  it('see a port, probe, scrape and drain that do not fit, and a field Kubernetes lacks', async () => {
    const result = await template({ ...SECRET, serviceMonitor: { enabled: true } }, undefined, '1.36.0');
    const objects = objectsOf(result.stdout) as Obj[];
    const workload = objects.find((o) => o.kind === 'DaemonSet')!;
    const container = workload.spec.template.spec.containers[0];
    container.ports.find((p: Obj) => p.name === 'http').containerPort = 9999;
    const metricsService = objects.find((o) => o.kind === 'Service' && o.metadata.name.endsWith('-metrics'))!;
    metricsService.spec.ports[0].targetPort = 9999;
    container.livenessProbe.httpGet.path = '/health';
    workload.spec.template.spec.terminationGracePeriodSeconds = 60;
    container.bogusField = true;
    const errors = factErrors(objects as K8sObject[]).join('\n');
    expect(errors).toMatch(/container port http 9999\/TCP, but HTTP_PORT=8080/);
    expect(errors).toMatch(/livenessProbe asks for \/health/);
    expect(errors).toMatch(/ServiceMonitor scrapes port 9999/);
    expect(errors).toMatch(/drain 3560 s \+ preStop 10 s \+ \d+ s > grace period 60 s/);
    expect(unknownFieldErrors(KUBERNETES_SCHEMAS[0]!, [workload as K8sObject]).join('\n')).toMatch(
      /bogusField/,
    );
    container.ports[0].containerPort = '3478';
    expect((await schemaErrors(KUBERNETES_SCHEMAS[0]!, workload as K8sObject)).join('\n')).toMatch(
      /containerPort must be integer/,
    );
  });
});
