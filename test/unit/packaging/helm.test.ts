// Checks of the chart's sources, without helm: values against the chart's schema, every template
// parsed once template actions are accounted for, and DESIGN.md's configuration names and
// defaults. What helm renders is checked by helm-render.test.ts with the real binary.
import { readdirSync, readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { DESIGN_DEFAULTS, DESIGN_ENV_NAMES, SECRET_ENV_NAMES } from './design-config.js';
import {
  blocksBalanced,
  defines,
  includedNames,
  stripComments,
  structuralYaml,
  valuesPaths,
} from './helm-template.js';
import { repoPath } from './repo.js';

type Values = Record<string, unknown>;

const CHART = 'helm/icegate';
const read = (path: string) => readFileSync(repoPath(`${CHART}/${path}`), 'utf8');
const defaults = parse(read('values.yaml')) as Values;
const templateFiles = readdirSync(repoPath(`${CHART}/templates`)).sort();
const templates = new Map(templateFiles.map((f) => [f, read(`templates/${f}`)]));
const manifestFiles = templateFiles.filter((f) => f.endsWith('.yaml'));
const helperFiles = templateFiles.filter((f) => f.endsWith('.tpl'));
const exampleFiles = readdirSync(repoPath(`${CHART}/examples`)).filter((f) => f.endsWith('.yaml'));

/** Helm's value coalescing: maps merge deeply, anything else replaces, null deletes the key. */
function coalesce(base: Values, override: Values): Values {
  const merged: Values = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const current = merged[key];
    if (value === null) delete merged[key];
    else if (isMap(value) && isMap(current)) merged[key] = coalesce(current, value);
    else merged[key] = value;
  }
  return merged;
}

function isMap(value: unknown): value is Values {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function at(values: Values, path: string): unknown {
  let node: unknown = values;
  for (const part of path.split('.')) node = isMap(node) && part in node ? node[part] : undefined;
  return node;
}

function hasPath(values: Values, path: string): boolean {
  let node: unknown = values;
  for (const part of path.split('.')) {
    if (!isMap(node) || !(part in node)) return false;
    node = node[part];
  }
  return true;
}

function compileSchema(): ValidateFunction {
  const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false, strictRequired: false });
  addFormats.default(ajv);
  return ajv.compile(JSON.parse(read('values.schema.json')));
}

describe('template structure reader', () => {
  const errorsOf = (template: string) => {
    const docs = parseAllDocuments(structuralYaml(template), { uniqueKeys: true });
    return (Array.isArray(docs) ? docs : [docs]).flatMap((d) => d.errors);
  };

  it('turns actions into placeholders that keep the surrounding structure', () => {
    const template = [
      '{{- if .Values.on }}',
      'kind: X',
      'metadata:',
      '  name: {{ include "n" . }}',
      '  labels:',
      '    {{- include "l" . | nindent 4 }}',
      'env:',
      '  - name: A',
      '    value: "1"',
      '  {{- with .Values.extra }}',
      '  {{ toYaml . }}',
      '  {{- end }}',
      '{{- end }}',
    ].join('\n');
    expect(parse(structuralYaml(template))).toEqual({
      kind: 'X',
      metadata: { name: 'PLACEHOLDER', labels: { __template_0: 'placeholder' } },
      env: [{ name: 'A', value: '1' }, { __template_1: 'placeholder' }],
    });
  });

  it('still sees broken indentation and duplicate keys', () => {
    expect(errorsOf('spec:\n  a: 1\n b: {{ .Values.x }}\n')).not.toEqual([]);
    expect(errorsOf('spec:\n  a: {{ .Values.x }}\n  a: 2\n')).not.toEqual([]);
    expect(errorsOf('spec:\n  - a\n  b: {{ .Values.x }}\n')).not.toEqual([]);
  });

  it('sees unbalanced blocks', () => {
    expect(blocksBalanced('{{- if .A }}x{{- range .B }}y{{- end }}')).toBe(false);
    expect(blocksBalanced('{{- if .A }}x{{- else }}y{{- end }}')).toBe(true);
    expect(() => defines('{{- define "a" -}}x')).toThrow(/unclosed/);
  });
});

describe('helm chart metadata', () => {
  it('is a v2 application chart whose appVersion is the package version', () => {
    const chart = parse(read('Chart.yaml'));
    const pkg = JSON.parse(readFileSync(repoPath('package.json'), 'utf8'));
    expect(chart).toMatchObject({ apiVersion: 'v2', name: 'icegate', type: 'application' });
    expect(chart.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(chart.appVersion).toBe(pkg.version);
  });
});

describe('values.schema.json', () => {
  const validate = compileSchema();
  const check = (values: Values) => {
    const ok = validate(values);
    return ok ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
  };

  it('is draft-07', () => {
    expect(JSON.parse(read('values.schema.json')).$schema).toBe('http://json-schema.org/draft-07/schema#');
  });

  it('accepts values.yaml', () => {
    expect(check(defaults)).toEqual([]);
  });

  it.each(exampleFiles)('accepts examples/%s merged over the defaults, as helm validates it', (file) => {
    const example = parse(read(`examples/${file}`)) as Values;
    expect(check(coalesce(defaults, example))).toEqual([]);
  });

  it('has both modes among the examples', () => {
    expect(exampleFiles.sort()).toEqual(['hostnetwork-values.yaml', 'loadbalancer-values.yaml']);
    const modes = exampleFiles.map((f) => (parse(read(`examples/${f}`)) as Values).mode);
    expect(new Set(modes)).toEqual(new Set(['hostNetwork', 'LoadBalancer']));
  });

  const lb = parse(read('examples/loadbalancer-values.yaml')) as Values;
  it.each([
    ['an unknown mode', { mode: 'NodePort' }],
    ['an unknown kind', { kind: 'StatefulSet' }],
    ['a port above 65535', { turn: { port: 70000 } }],
    ['a privileged relay port', { turn: { minPort: 80 } }],
    ['a port given as a string', { http: { port: '8080' } }],
    ['an invalid external address', { turn: { externalIP: 'relay.example.com' } }],
    ['a typo at the top level', { replicas: 3 }],
    ['a typo in turn', { turn: { relm: 'x' } }],
    ['a bundled secret value', { secrets: { existingSecret: 'x', TURN_SECRETS: 'hunter2' } }],
    ['root containers', { podSecurityContext: { runAsNonRoot: false } }],
    ['privilege escalation', { securityContext: { allowPrivilegeEscalation: true } }],
    ['TLS without its Secret', { tls: { enabled: true, existingSecret: '' } }],
    ['an HPA on a DaemonSet', { kind: 'DaemonSet', hpa: { enabled: true } }],
    ['a short grace period', { terminationGracePeriodSeconds: 5 }],
  ])('rejects %s', (_what, override) => {
    expect(check(coalesce(defaults, override as Values))).not.toEqual([]);
  });

  it.each([
    ['without the load balancer address', { turn: { externalIP: '' } }],
    ['as a DaemonSet', { kind: 'DaemonSet' }],
    ['with two replicas', { replicaCount: 2 }],
  ])('rejects LoadBalancer mode %s', (_what, override) => {
    expect(check(coalesce(coalesce(defaults, lb), override as Values))).not.toEqual([]);
  });
});

describe('chart templates', () => {
  it.each(manifestFiles)('%s parses as YAML once template actions are placeholders', (file) => {
    const text = templates.get(file)!;
    expect(blocksBalanced(text)).toBe(true);
    const docs = parseAllDocuments(structuralYaml(text), { uniqueKeys: true });
    const list = Array.isArray(docs) ? docs : [docs];
    expect(list.flatMap((d) => d.errors.map((e) => e.message))).toEqual([]);
    const objects = list.map((d) => d.toJS() as Values | null).filter((o) => o !== null);
    expect(objects.length).toBeGreaterThan(0);
    for (const object of objects) {
      expect(object.apiVersion, file).toEqual(expect.any(String));
      expect(object.kind, file).toEqual(expect.any(String));
      expect(at(object, 'metadata.name'), file).toBeDefined();
      expect(at(object, 'metadata.labels'), file).toBeDefined();
    }
  });

  it.each(helperFiles)('every define in %s parses as YAML', (file) => {
    const found = defines(templates.get(file)!);
    expect(found.size).toBeGreaterThan(0);
    for (const [name, body] of found) {
      const doc = parseAllDocuments(structuralYaml(body), { uniqueKeys: true });
      const list = Array.isArray(doc) ? doc : [doc];
      expect(
        list.flatMap((d) => d.errors.map((e) => e.message)),
        name,
      ).toEqual([]);
    }
  });

  it('reads the structure it should from the placeholder YAML', () => {
    const pod = parse(structuralYaml(defines(templates.get('_pod.tpl')!).get('icegate.podTemplate')!));
    const container = pod.spec.containers[0];
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(container.lifecycle.preStop.exec.command[0]).toBe('sleep');
    expect(pod.spec.hostNetwork).toBe(true);
    expect(pod.spec.dnsPolicy).toBe('ClusterFirstWithHostNet');
    expect(pod.spec.automountServiceAccountToken).toBe(false);
    expect(container.envFrom[0].configMapRef).toBeDefined();
    const ports = container.ports.map((p: { name: string; protocol: string }) => `${p.name}/${p.protocol}`);
    expect(ports).toEqual(['turn-udp/UDP', 'turn-tcp/TCP', 'turns/TCP', 'http/TCP', 'metrics/TCP']);
  });

  it('renders the workload by kind and the pod template from one place', () => {
    expect(stripComments(templates.get('deployment.yaml')!)).toMatch(
      /^\{\{- if eq \.Values\.kind "Deployment" \}\}/,
    );
    expect(stripComments(templates.get('daemonset.yaml')!)).toMatch(
      /^\{\{- if eq \.Values\.kind "DaemonSet" \}\}/,
    );
    for (const file of ['deployment.yaml', 'daemonset.yaml']) {
      expect(templates.get(file)).toContain('{{- include "icegate.podTemplate" . | nindent 4 }}');
    }
    expect(templates.get('_pod.tpl')).toContain(
      'terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}',
    );
    expect(defaults.terminationGracePeriodSeconds).toBe(3600);
  });

  it('publishes TURN in LoadBalancer mode over UDP and TCP with externalTrafficPolicy Local', () => {
    const text = templates.get('service.yaml')!;
    expect(stripComments(text)).toMatch(/^\{\{- if eq \.Values\.mode "LoadBalancer" \}\}/);
    const service = parse(structuralYaml(text));
    expect(service.spec.type).toBe('LoadBalancer');
    expect(service.spec.externalTrafficPolicy).toBe('Local');
    const protocols = new Set(service.spec.ports.map((p: { protocol: string }) => p.protocol));
    expect(protocols).toEqual(new Set(['UDP', 'TCP']));
    expect(text).toContain('untilStep (int .Values.turn.minPort) (int (add1 .Values.turn.maxPort)) 1');
  });

  it('takes the external address from values or, in hostNetwork mode, from the node', () => {
    const env = templates.get('_env.tpl')!;
    expect(env).toMatch(
      /if and \(not \.Values\.turn\.externalIP\) \(eq \.Values\.mode "hostNetwork"\) \.Values\.turn\.externalIPFromNode/,
    );
    expect(env).toMatch(
      /- name: TURN_EXTERNAL_IP\n\s+valueFrom:\n\s+fieldRef:\n\s+fieldPath: status\.hostIP/,
    );
    expect(templates.get('configmap.yaml')).toMatch(
      /with \.Values\.turn\.externalIP \}\}\n\s+TURN_EXTERNAL_IP:/,
    );
  });

  it('creates no Secret and references every secret from existing Secrets', () => {
    for (const [file, text] of templates) expect(text, file).not.toMatch(/^kind:\s*Secret\b/m);
    const env = parseAllDocuments(structuralYaml(defines(templates.get('_env.tpl')!).get('icegate.env')!));
    const items = (Array.isArray(env) ? env[0] : env)!.toJS() as { name?: string; valueFrom?: Values }[];
    for (const name of SECRET_ENV_NAMES) {
      const item = items.find((i) => i.name === name);
      expect(item, name).toBeDefined();
      expect(at(item!.valueFrom ?? {}, 'secretKeyRef.name'), name).toBe('PLACEHOLDER');
    }
    const configMapKeys = Object.keys(parse(structuralYaml(templates.get('configmap.yaml')!)).data);
    for (const name of SECRET_ENV_NAMES) expect(configMapKeys).not.toContain(name);
    expect(templates.get('_helpers.tpl')).toMatch(/required "secrets\.existingSecret/);
  });

  it('offers a PodDisruptionBudget, an optional HPA and an optional ServiceMonitor', () => {
    expect(parse(structuralYaml(templates.get('pdb.yaml')!)).kind).toBe('PodDisruptionBudget');
    expect(stripComments(templates.get('hpa.yaml')!)).toMatch(/^\{\{- if and \.Values\.hpa\.enabled/);
    expect(stripComments(templates.get('servicemonitor.yaml')!)).toMatch(
      /^\{\{- if \.Values\.serviceMonitor\.enabled/,
    );
    const monitor = parse(structuralYaml(templates.get('servicemonitor.yaml')!));
    expect(monitor.spec.endpoints[0]).toMatchObject({ port: 'metrics', path: '/metrics' });
    // The monitor selects the metrics Service, which names the container's metrics port; the
    // HTTP Service (the one an operator publishes) carries no metrics port.
    expect(monitor.spec.selector.matchLabels['app.kubernetes.io/component']).toBe('metrics');
    const metricsService = parse(structuralYaml(templates.get('service-metrics.yaml')!));
    expect(metricsService.spec.type).toBe('ClusterIP');
    expect(metricsService.metadata.labels['app.kubernetes.io/component']).toBe('metrics');
    expect(metricsService.spec.ports).toEqual([
      { name: 'metrics', port: 'PLACEHOLDER', targetPort: 'metrics', protocol: 'TCP' },
    ]);
    const httpService = parse(structuralYaml(templates.get('service-http.yaml')!));
    expect(httpService.spec.ports.map((p: { name: string }) => p.name)).toEqual(['http']);
    const pod = templates.get('_pod.tpl')!;
    expect(pod).toMatch(/- name: metrics\n\s+containerPort: \{\{ \.Values\.metrics\.port \}\}/);
    expect(pod).toMatch(/path: \/healthz\n\s+port: http\n/);
    expect(pod).toMatch(/path: \/readyz\n\s+port: http\n/);
    expect(blocksBalanced(templates.get('NOTES.txt')!)).toBe(true);
    for (const file of helperFiles) expect(blocksBalanced(templates.get(file)!), file).toBe(true);
  });

  it('reads only values that values.yaml declares, and uses every top-level value', () => {
    const read = new Set([...templates.values()].flatMap(valuesPaths));
    for (const path of read) expect(hasPath(defaults, path), path).toBe(true);
    const topLevel = new Set([...read].map((p) => p.split('.')[0]));
    for (const key of Object.keys(defaults)) expect(topLevel.has(key), key).toBe(true);
  });

  it('includes only defined helpers', () => {
    const defined = new Set(helperFiles.flatMap((f) => [...defines(templates.get(f)!).keys()]));
    for (const [file, text] of templates) {
      for (const name of includedNames(text)) expect(defined.has(name), `${file}: ${name}`).toBe(true);
    }
  });
});

describe('chart configuration names and defaults (DESIGN.md)', () => {
  const configMap = templates.get('configmap.yaml')!;
  const mapping = new Map(
    [...configMap.matchAll(/^\s+([A-Z][A-Z0-9_]*): \{\{ (?:join "," )?\.Values\.([\w.]+)/gm)].map((m) => [
      m[1]!,
      m[2]!,
    ]),
  );

  it('uses exactly the environment names of DESIGN.md', () => {
    const names = new Set<string>();
    for (const m of configMap.matchAll(/^\s+([A-Z][A-Z0-9_]*):/gm)) names.add(m[1]!);
    for (const text of templates.values()) {
      for (const m of text.matchAll(/- name: ([A-Z][A-Z0-9_]*)\b/g)) names.add(m[1]!);
      for (const m of text.matchAll(/\bkey: ([A-Z][A-Z0-9_]*)\b/g)) names.add(m[1]!);
    }
    for (const name of names) expect(DESIGN_ENV_NAMES, name).toContain(name);
    const expected = DESIGN_ENV_NAMES.filter((n) => n !== 'TURN_ALLOW_LOOPBACK_PEERS');
    expect([...names].sort()).toEqual([...expected].sort());
    expect(at(defaults, 'redis.key')).toBe('REDIS_URL');
    expect(at(defaults, 'database.key')).toBe('DATABASE_URL');
  });

  it('never sets the tests-only TURN_ALLOW_LOOPBACK_PEERS', () => {
    for (const text of templates.values()) expect(text).not.toContain('TURN_ALLOW_LOOPBACK_PEERS');
  });

  it('defaults every value that feeds a DESIGN.md variable to DESIGN.md default', () => {
    for (const [name, expected] of Object.entries(DESIGN_DEFAULTS)) {
      const path = mapping.get(name);
      expect(path, name).toBeDefined();
      expect(at(defaults, path!), `${name} <- .Values.${path}`).toBe(expected);
    }
    expect(mapping.get('DATA_DIR')).toBe('dataDir');
    expect(at(defaults, 'turn.externalIP')).toBe('');
    expect(at(defaults, 'turn.deniedPeers')).toEqual([]);
  });

  it('leaves optional addresses, peer lists and tunables out of the ConfigMap when empty', () => {
    for (const name of [
      'TURN_EXTERNAL_IP',
      'TURN_RELAY_IP',
      'TURN_DENIED_PEERS',
      'TURN_ALLOWED_PEERS',
      'TURN_ALLOCATIONS_PER_USER',
      'TURN_PERMISSION_LIFETIME',
      'TURN_CHANNEL_LIFETIME',
      'TURN_RELAY_SOCKET_BUFFER',
      'SUPPORT_CLOSING_DAYS',
    ]) {
      expect(configMap, name).toMatch(new RegExp(`\\{\\{- with [^}]+\\}\\}\\n\\s+${name}:`));
    }
  });
});
