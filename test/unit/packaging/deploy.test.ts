// No Kubernetes and no Docker engine here: the manifests and the compose file are checked as
// data against DESIGN.md's contract and against each other.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { DESIGN_DEFAULTS, DESIGN_ENV_NAMES, SECRET_ENV_NAMES } from './design-config.js';
import { repoHas, repoPath } from './repo.js';

type Obj = Record<string, any>;

const K8S = 'deploy/kubernetes';
const manifestFiles = readdirSync(repoPath(K8S)).filter(
  (f) => f.endsWith('.yaml') && f !== 'kustomization.yaml',
);
const manifests = manifestFiles.flatMap((file) => {
  const docs = parseAllDocuments(readFileSync(repoPath(`${K8S}/${file}`), 'utf8'), { uniqueKeys: true });
  return (Array.isArray(docs) ? docs : [docs]).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]!.message}`);
    return { file, object: doc.toJS() as Obj };
  });
});
const byKind = (kind: string) => manifests.filter((m) => m.object.kind === kind).map((m) => m.object);
const deployment = byKind('Deployment')[0]!;
const pod = deployment.spec.template;
const container = pod.spec.containers[0];

function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

describe('deploy/kubernetes manifests', () => {
  it('lists every manifest in the kustomization, and only those', () => {
    const kustomization = parse(readFileSync(repoPath(`${K8S}/kustomization.yaml`), 'utf8'));
    expect(kustomization.kind).toBe('Kustomization');
    expect([...kustomization.resources].sort()).toEqual([...manifestFiles].sort());
    expect(kustomization.images[0].name).toBe(container.image.split(':')[0]);
  });

  it('gives every object an apiVersion, a kind and a name', () => {
    for (const { file, object } of manifests) {
      expect(object.apiVersion, file).toMatch(/^([a-z.]+\/)?v\d+(beta\d+)?$/);
      expect(object.kind, file).toMatch(/^[A-Z][A-Za-z]+$/);
      expect(object.metadata?.name, file).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    }
    const kinds = manifests.map((m) => m.object.kind).sort();
    expect(kinds).toEqual(['ConfigMap', 'Deployment', 'PodDisruptionBudget', 'Service', 'ServiceAccount']);
    expect(kinds).not.toContain('Secret');
  });

  it('selects the pods with the Deployment, the Service and the PDB', () => {
    const labels = pod.metadata.labels;
    expect(selects(deployment.spec.selector.matchLabels, labels)).toBe(true);
    expect(selects(byKind('Service')[0]!.spec.selector, labels)).toBe(true);
    expect(selects(byKind('PodDisruptionBudget')[0]!.spec.selector.matchLabels, labels)).toBe(true);
    const service = byKind('Service')[0]!;
    const portNames = container.ports.map((p: Obj) => p.name);
    for (const port of service.spec.ports) expect(portNames).toContain(port.targetPort);
  });

  it('uses DESIGN.md names in the container environment and ConfigMap, with its defaults', () => {
    const configMap = byKind('ConfigMap')[0]!;
    expect(container.envFrom[0].configMapRef.name).toBe(configMap.metadata.name);
    const names = [...Object.keys(configMap.data), ...container.env.map((e: Obj) => e.name)];
    for (const name of names) expect(DESIGN_ENV_NAMES, name).toContain(name);
    for (const [name, value] of Object.entries(DESIGN_DEFAULTS)) {
      expect(configMap.data[name], name).toBe(String(value));
    }
    for (const name of Object.keys(configMap.data)) expect(SECRET_ENV_NAMES).not.toContain(name);
    expect(configMap.data).not.toHaveProperty('TURN_DENIED_PEERS');
    expect(configMap.data).not.toHaveProperty('TURN_ALLOW_LOOPBACK_PEERS');
  });

  it('takes secrets from a Secret and the external address from the node', () => {
    for (const name of SECRET_ENV_NAMES) {
      const env = container.env.find((e: Obj) => e.name === name);
      expect(env?.valueFrom?.secretKeyRef, name).toMatchObject({ name: 'icegate-secrets', key: name });
      expect(env.value, name).toBeUndefined();
    }
    const external = container.env.find((e: Obj) => e.name === 'TURN_EXTERNAL_IP');
    expect(external.valueFrom.fieldRef.fieldPath).toBe('status.hostIP');
  });

  it('runs a drainable, non-root relay on the node network with both probes', () => {
    expect(pod.spec.hostNetwork).toBe(true);
    expect(pod.spec.dnsPolicy).toBe('ClusterFirstWithHostNet');
    expect(pod.spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(600);
    expect(pod.spec.securityContext.runAsNonRoot).toBe(true);
    expect(container.securityContext.allowPrivilegeEscalation).toBe(false);
    expect(container.livenessProbe.httpGet.path).toBe('/healthz');
    expect(container.readinessProbe.httpGet.path).toBe('/readyz');
    expect(container.lifecycle.preStop.exec.command[0]).toBe('sleep');
    const ports = container.ports.map((p: Obj) => `${p.containerPort}/${p.protocol}`);
    expect(ports).toEqual([
      `${DESIGN_DEFAULTS.TURN_PORT}/UDP`,
      `${DESIGN_DEFAULTS.TURN_PORT}/TCP`,
      `${DESIGN_DEFAULTS.HTTP_PORT}/TCP`,
      `${DESIGN_DEFAULTS.METRICS_PORT}/TCP`,
    ]);
    // The probes stay on the HTTP port; the metrics port serves /metrics only.
    expect(container.livenessProbe.httpGet.port).toBe('http');
    expect(container.readinessProbe.httpGet.port).toBe('http');
    const mounts = container.volumeMounts.map((m: Obj) => m.mountPath);
    expect(mounts).toContain(byKind('ConfigMap')[0]!.data.DATA_DIR);
  });
});

describe('deploy/docker-compose.yml', () => {
  const compose = parse(readFileSync(repoPath('deploy/docker-compose.yml'), 'utf8')) as Obj;
  const services = compose.services as Record<string, Obj>;
  /** A compose-relative path (compose resolves them against the file's folder). */
  const fromCompose = (path: string) => normalize(join('deploy', path));

  it('matches the Compose subset schema', () => {
    const schema = JSON.parse(readFileSync(repoPath('test/unit/packaging/compose.schema.json'), 'utf8'));
    const validate = new Ajv({ allErrors: true }).compile(schema);
    expect(validate(compose) ? [] : validate.errors).toEqual([]);
    expect(validate({ services: { x: { ports: ['3478'] } } })).toBe(false);
  });

  it('runs icegate, Redis, PostgreSQL, Prometheus and Grafana', () => {
    expect(Object.keys(services).sort()).toEqual(['grafana', 'icegate', 'postgres', 'prometheus', 'redis']);
    for (const [name, service] of Object.entries(services)) {
      if (service.image && !service.build) expect(service.image, name).toMatch(/:[\w.-]+$/);
      for (const dep of Object.keys(
        Array.isArray(service.depends_on)
          ? Object.fromEntries(service.depends_on.map((d: string) => [d, 1]))
          : (service.depends_on ?? {}),
      )) {
        expect(services, `${name} depends on ${dep}`).toHaveProperty(dep);
      }
    }
  });

  it('builds icegate from the repository Dockerfile', () => {
    const build = services.icegate!.build;
    expect(fromCompose(build.context)).toBe('.');
    expect(repoHas(join(fromCompose(build.context), build.dockerfile))).toBe(true);
  });

  it('configures icegate with DESIGN.md names and points it at Redis and PostgreSQL', () => {
    const env = services.icegate!.environment as Record<string, string>;
    for (const name of Object.keys(env)) expect(DESIGN_ENV_NAMES, name).toContain(name);
    expect(env.REDIS_URL).toBe('redis://redis:6379');
    expect(new URL(env.DATABASE_URL!).host).toBe('postgres:5432');
    const pg = services.postgres!.environment;
    expect(new URL(env.DATABASE_URL!).username).toBe(pg.POSTGRES_USER);
    expect(new URL(env.DATABASE_URL!).pathname).toBe(`/${pg.POSTGRES_DB}`);
    // The published relay range is exactly the configured one.
    const relay = (services.icegate!.ports as string[]).find((p) => p.endsWith('/udp') && p.includes('-'));
    expect(relay).toContain(
      `${env.TURN_MIN_PORT}-${env.TURN_MAX_PORT}:${env.TURN_MIN_PORT}-${env.TURN_MAX_PORT}`,
    );
    expect(services.icegate!.ports).toContain(`127.0.0.1:${env.HTTP_PORT}:${env.HTTP_PORT}/tcp`);
    // Secrets are overridable development defaults, never bare literals.
    for (const name of ['TURN_SECRETS', 'ADMIN_TOKEN_SECRET']) {
      expect(env[name], name).toMatch(new RegExp(`^\\$\\{${name}:-[^}]+\\}$`));
    }
  });

  it('mounts only files and folders that exist, and declares its named volumes', () => {
    const declared = new Set(Object.keys(compose.volumes ?? {}));
    for (const [name, service] of Object.entries(services)) {
      for (const volume of (service.volumes ?? []) as string[]) {
        const source = volume.split(':')[0]!;
        if (source.startsWith('.') || source.startsWith('/')) {
          expect(repoHas(fromCompose(source)), `${name}: ${source}`).toBe(true);
        } else expect(declared.has(source), `${name}: ${source}`).toBe(true);
      }
    }
  });

  it('has Prometheus scrape icegate /metrics on its metrics port, not the published HTTP port', () => {
    const mount = (services.prometheus!.volumes as string[]).find((v) => v.includes('prometheus.yml'))!;
    const config = parse(readFileSync(repoPath(fromCompose(mount.split(':')[0]!)), 'utf8'));
    const job = config.scrape_configs.find((j: Obj) => j.job_name === 'icegate');
    expect(job.metrics_path).toBe('/metrics');
    const env = services.icegate!.environment as Record<string, string>;
    expect(env.METRICS_PORT).not.toBe(env.HTTP_PORT);
    expect(job.static_configs[0].targets).toEqual([`icegate:${env.METRICS_PORT}`]);
    // Metrics stay on the compose network: the host gets the HTTP port, never the metrics port.
    for (const port of services.icegate!.ports as string[])
      expect(port).not.toContain(`:${env.METRICS_PORT}`);
    expect(services.prometheus!.command).toContain(`--config.file=${mount.split(':')[1]}`);
  });

  it('provisions Grafana with the dashboard and a datasource that reaches Prometheus', () => {
    const volumes = services.grafana!.volumes as string[];
    const target = (source: string) => volumes.find((v) => v.startsWith(`${source}:`))?.split(':')[1];
    expect(target('../grafana/provisioning/datasources')).toBe('/etc/grafana/provisioning/datasources');
    expect(target('../grafana/provisioning/dashboards')).toBe('/etc/grafana/provisioning/dashboards');
    const provider = parse(readFileSync(repoPath('grafana/provisioning/dashboards/icegate.yaml'), 'utf8'));
    expect(target('../grafana/dashboards')).toBe(provider.providers[0].options.path);
    const home = services.grafana!.environment.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH as string;
    expect(dirname(home)).toBe(provider.providers[0].options.path);
    expect(repoHas(join('grafana/dashboards', home.split('/').at(-1)!))).toBe(true);
    const datasource = parse(
      readFileSync(repoPath('grafana/provisioning/datasources/prometheus.yaml'), 'utf8'),
    );
    const url = new URL(datasource.datasources[0].url);
    expect(url.hostname).toBe('prometheus');
    expect(services.prometheus!.ports).toContain(`127.0.0.1:${url.port}:${url.port}/tcp`);
  });
});
