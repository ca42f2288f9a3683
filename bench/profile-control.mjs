// Profiles icegate's control path under one of the control-plane loads: `node --cpu-prof` on a
// fresh icegate while bench/alloc-load.mjs opens allocations (`--load allocations`), or while
// phase 3's autocannon load asks for credentials (`--load credentials`, variant embedded or
// redis), and prints the summary of the samples taken after the load started
// (bench/cpu-profile-summary.mjs). Not a measurement (the profiler slows the process): where the
// time goes, not how much.
//
// Usage: node bench/profile-control.mjs [--load allocations|credentials]
//        [--target icegate|icegate-native|icegate-redis] [--variant embedded|redis]
//        [--count 8000] [--top 40]
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { allocLoadArgs } from './allocation-phase.mjs';
import { startChild, stopAllChildren } from './child-processes.mjs';
import { summariseProfile } from './cpu-profile-summary.mjs';
import { credentialPhase } from './credential-phase.mjs';
import { ICEGATE_REDIS, launch, TARGETS } from './targets.mjs';

const { values } = parseArgs({
  options: {
    load: { type: 'string', default: 'allocations' },
    target: { type: 'string', default: 'icegate' },
    variant: { type: 'string', default: 'embedded' },
    count: { type: 'string', default: '8000' },
    top: { type: 'string', default: '40' },
  },
});
const root = new URL('..', import.meta.url).pathname;
const tmpDir = join(root, 'bench/results/tmp');
const profileDir = join(tmpDir, 'profiles');
mkdirSync(profileDir, { recursive: true });
const newestProfile = (since) =>
  readdirSync(profileDir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => join(profileDir, f))
    .filter((f) => statSync(f).mtimeMs >= since)
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];

if (values.load === 'credentials') {
  const since = Date.now();
  const phase = await credentialPhase({
    secret: randomBytes(12).toString('hex'),
    tmpDir,
    log: (t) => process.stderr.write(`${t}\n`),
    profileDir,
    only: [values.variant],
  });
  const run = phase.results?.[0];
  process.stderr.write(`${JSON.stringify(run ?? phase)}\n`);
  stopAllChildren();
  const file = newestProfile(since);
  if (!file || run?.profileSkipMs === undefined) throw new Error('no profile written');
  process.stdout.write(
    `${JSON.stringify({ file, ...summariseProfile(file, Number(values.top), { fromMs: run.profileSkipMs }) }, null, 1)}\n`,
  );
  process.exit(0);
}

const target = [...TARGETS, ICEGATE_REDIS].find((t) => t.id === values.target);
if (!target) throw new Error(`unknown target ${values.target}`);
const secret = randomBytes(12).toString('hex');
const since = Date.now();
const server = await launch(target, { secret, tmpDir, profileDir });
const startedAt = Date.now();
await new Promise((r) => setTimeout(r, 3000));
const loadFromMs = Date.now() - startedAt;
const generator = startChild(
  'alloc-load',
  process.execPath,
  allocLoadArgs(server.port, { count: Number(values.count), checkpoints: [Number(values.count)] }),
  {
    env: { ...process.env, BENCH_SECRET: secret },
    stdin: 'pipe',
    timeoutMs: 120_000,
    onLine: (line) => {
      if (line.includes('"checkpoint"')) {
        process.stderr.write(`${line}\n`);
        generator.child.stdin.write('continue\n');
      }
      if (line.includes('"done"')) process.stderr.write(`${line}\n`);
    },
  },
);
// The samples end when the load does: the shutdown that follows (closing every relay, the last
// reading of /proc/net/udp) is not the load's cost.
let loadToMs;
await new Promise((resolve) => {
  const timer = setInterval(() => {
    if (generator.lines.some((l) => l.includes('"done"'))) {
      loadToMs = Date.now() - startedAt;
      clearInterval(timer);
      resolve();
    }
  }, 100);
  generator.exited.then(() => {
    clearInterval(timer);
    resolve();
  });
});
await server.child.stop('SIGTERM', 10_000);
await generator.stop('SIGKILL');
stopAllChildren();
const file = newestProfile(since);
if (!file) throw new Error('no profile written');
process.stdout.write(
  `${JSON.stringify({ file, ...summariseProfile(file, Number(values.top), { fromMs: loadFromMs, toMs: loadToMs }) }, null, 1)}\n`,
);
process.exit(0);
