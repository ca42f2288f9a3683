// Validation of rendered manifests against the Kubernetes API schemas, offline. kubectl's own
// validation needs an API server for its OpenAPI documents, and none can run here, so two checks
// stand in for it, both generated from the upstream OpenAPI documents:
//  - the JSON-schema validators that kubernetes-models ships (types, formats, required fields,
//    enums), for the oldest and the newest Kubernetes the chart is checked against (two versions
//    of the package, see KUBERNETES_SCHEMAS), and those of @kubernetes-models/prometheus-operator
//    for the ServiceMonitor and PrometheusRule CRDs;
//  - the TypeScript declarations of the same packages, type-checked with every manifest as an
//    object literal: TypeScript rejects a field the API type does not have at any depth, which
//    is what `kubectl --validate=strict` adds (the shipped validators allow unknown fields).
import ts from 'typescript';
import { repoPath } from './repo.js';

/** A rendered Kubernetes object. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; [key: string]: unknown };
  [key: string]: unknown;
}

/** One Kubernetes release's API schemas: the package generated from its OpenAPI documents. */
export interface KubernetesSchemas {
  /** The release, as `helm template --kube-version` takes it. */
  kubernetes: string;
  /** The installed package (package.json devDependencies; an npm alias for the older one). */
  package: string;
}

/**
 * The releases the chart is validated against: 1.27.1 (kubernetes-models 4.3.1), the closest to
 * the chart's kubeVersion floor (>=1.26) that the package was generated for, and 1.36.0
 * (kubernetes-models 5.1.0). Add a release by adding an aliased devDependency and a line here.
 */
export const KUBERNETES_SCHEMAS: readonly KubernetesSchemas[] = [
  { kubernetes: '1.27.1', package: 'kubernetes-models-1.27' },
  { kubernetes: '1.36.0', package: 'kubernetes-models' },
];

/** The module that models an apiVersion, or undefined when no package here has its schema. */
function modelModule(schemas: KubernetesSchemas, apiVersion: string): string | undefined {
  if (apiVersion.startsWith('monitoring.coreos.com/'))
    return `@kubernetes-models/prometheus-operator/${apiVersion}`;
  if (apiVersion.includes('.') && !apiVersion.includes('k8s.io/')) return undefined;
  return `${schemas.package}/${apiVersion}`;
}

interface Model {
  validate(): void;
}
type ModelClass = new (data: unknown) => Model;

const loaded = new Map<string, Record<string, unknown>>();

async function modelClass(schemas: KubernetesSchemas, object: K8sObject): Promise<ModelClass | undefined> {
  const module = modelModule(schemas, object.apiVersion);
  if (module === undefined) return undefined;
  if (!loaded.has(module)) loaded.set(module, (await import(module)) as Record<string, unknown>);
  const found = loaded.get(module)![object.kind];
  return typeof found === 'function' ? (found as ModelClass) : undefined;
}

/** Schema errors of one object ("kind/name: message"), or a line saying no schema is known. */
export async function schemaErrors(schemas: KubernetesSchemas, object: K8sObject): Promise<string[]> {
  const where = `${object.kind}/${object.metadata?.name} (Kubernetes ${schemas.kubernetes})`;
  const Model = await modelClass(schemas, object);
  if (Model === undefined) return [`${where}: no schema for ${object.apiVersion} ${object.kind}`];
  try {
    new Model(object).validate();
    return [];
  } catch (err) {
    return [`${where}: ${err instanceof Error ? err.message : String(err)}`];
  }
}

/**
 * Fields the API types do not have, found by type-checking every object as a literal of its
 * model's interface (one TypeScript program for all, since loading the declarations dominates).
 */
export function unknownFieldErrors(schemas: KubernetesSchemas, objects: K8sObject[]): string[] {
  const lines: string[] = [];
  objects.forEach((object, i) => {
    const module = modelModule(schemas, object.apiVersion);
    if (module === undefined) return;
    lines.push(
      `// ${object.kind}/${object.metadata.name} (Kubernetes ${schemas.kubernetes})`,
      `export const o${i}: import(${JSON.stringify(module)}).I${object.kind} = ${JSON.stringify(object)};`,
    );
  });
  const fileName = repoPath('test/unit/packaging/__rendered_manifests__.ts');
  const source = lines.join('\n');
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const readFile = host.readFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  host.readFile = (f) => (f === fileName ? source : readFile(f));
  host.fileExists = (f) => f === fileName || fileExists(f);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (f, v, onError, create) =>
    f === fileName ? ts.createSourceFile(f, source, v) : getSourceFile(f, v, onError, create);
  const program = ts.createProgram([fileName], options, host);
  return ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file?.fileName === fileName)
    .map((d) => {
      const line = d.file!.getLineAndCharacterOfPosition(d.start ?? 0).line;
      const owner = source.split('\n')[line - 1] ?? '';
      return `${owner.replace(/^\/\/ /, '')}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
    });
}
