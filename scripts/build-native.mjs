// Builds the optional native data plane (native/) with node-gyp during `npm ci`/`npm install`.
// Never fails the install: the JS data path is the portable fallback (issue 9), so a missing
// compiler or header set costs one log line, not a broken install.
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const nativeDir = join(root, 'native');
const logFile = join(nativeDir, 'build-native.log');

if (process.env.ICEGATE_SKIP_NATIVE === '1') {
  console.log('icegate native data plane: skipped (ICEGATE_SKIP_NATIVE=1)');
  process.exit(0);
}

// npm exports its bundled node-gyp to lifecycle scripts; outside npm, look beside this Node.
const prefix = resolve(dirname(process.execPath), '..');
const gypCandidates = [
  process.env.npm_config_node_gyp,
  join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
].filter((candidate) => candidate !== undefined && candidate !== '' && existsSync(candidate));
const nodeGyp = gypCandidates[0];
if (nodeGyp === undefined) {
  console.log('icegate native data plane: not built (node-gyp not found); the JS data path will be used');
  process.exit(0);
}

// Headers of the running Node, so node-gyp never downloads anything.
const nodedir =
  process.env.npm_config_nodedir ||
  (existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined);
const args = [nodeGyp, 'rebuild', '-C', nativeDir];
if (nodedir !== undefined) args.push(`--nodedir=${nodedir}`);

const result = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 180_000 });
const output = `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? String(result.error) : ''}`;
writeFileSync(logFile, output);
if (result.status === 0 && existsSync(join(nativeDir, 'build', 'Release', 'icegate_native.node'))) {
  console.log('icegate native data plane: built native/build/Release/icegate_native.node');
} else {
  console.log(`icegate native data plane: build failed, JS data path will be used (see ${logFile})`);
}
process.exit(0);
