// `npm run bench`: icegate, coturn, the Node floor and node-turn side by side on this machine,
// phase after phase (never two loads at once), every child bounded in time and killed on exit.
// Prints tables and writes bench/results/<UTC date and time>.json. See bench/README.md.
//
// Options: --phases relay,allocations,credentials  --targets coturn,icegate,…  --quick
//          --repeat N  --profile  --alloc-count N  --alloc-warm-up N  --loads paced,saturating
//          --saturating-messages N  --warm-sessions N  --deadline-s S  --out FILE
//          --baseline DIST (phases 2 and 3: the icegate columns also from another build's dist;
//          DIST/icegate_native.node, when there, is the native baseline's addon)
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { allocationPhase, bareNodeAtRest, DEFAULT_ALLOCATION_WARM_UP } from './allocation-phase.mjs';
import { stopAllChildren } from './child-processes.mjs';
import { credentialPhase } from './credential-phase.mjs';
import { judgeGoals } from './goals.mjs';
import { machineLoad } from './proc-stats.mjs';
import { LOADS, relayPhase } from './relay-phase.mjs';
import { renderReport, summariseRelay } from './report.mjs';
import { makeCertificate } from './self-signed.mjs';
import { baselineTargets, DEFAULT_TARGET_IDS, ICEGATE_REDIS, NODE24_BIN, TARGETS } from './targets.mjs';
import { DEFAULT_WARM_SESSIONS } from './warm-up.mjs';

/** The servers phase 2 measures (plus icegate with Redis when icegate is measured). */
const ALLOCATION_TARGETS = Object.freeze(['coturn', 'icegate', 'icegate-native', 'icegate-native-node24']);

const { values } = parseArgs({
  options: {
    phases: { type: 'string', default: 'relay,allocations,credentials' },
    targets: { type: 'string', default: DEFAULT_TARGET_IDS.join(',') },
    quick: { type: 'boolean', default: false },
    repeat: { type: 'string', default: '1' },
    profile: { type: 'boolean', default: false },
    'alloc-count': { type: 'string' },
    loads: { type: 'string' },
    'saturating-messages': { type: 'string' },
    'warm-sessions': { type: 'string' },
    'alloc-warm-up': { type: 'string' },
    'deadline-s': { type: 'string', default: '900' },
    out: { type: 'string' },
    baseline: { type: 'string' },
  },
});

const root = new URL('..', import.meta.url).pathname;
const resultsDir = join(root, 'bench/results');
const tmpDir = join(resultsDir, 'tmp');
const profileDir = join(tmpDir, 'profiles');
mkdirSync(profileDir, { recursive: true });

const started = new Date();
const t0 = performance.now();
const log = (text) =>
  process.stderr.write(`[${((performance.now() - t0) / 1000).toFixed(0).padStart(4)}s] ${text}\n`);
const phases = new Set(values.phases.split(','));
const wanted = new Set(values.targets.split(','));
// A throwaway secret for this run only; it never leaves this machine's loopback.
const secret = randomBytes(12).toString('hex');

const deadline = setTimeout(() => {
  log(`deadline of ${values['deadline-s']} s reached: stopping everything`);
  stopAllChildren();
  process.exit(3);
}, Number(values['deadline-s']) * 1000);
deadline.unref();

const available = [];
const unavailable = [];
for (const target of TARGETS.filter((t) => wanted.has(t.id))) {
  const status = await target.available();
  if (status.ok) {
    available.push(target);
    if (status.warning) log(`${target.id}: ${status.warning}`);
  } else unavailable.push({ target: target.id, reason: status.reason });
}
for (const u of unavailable) log(`${u.target}: ${u.reason}`);

const result = {
  startedAt: started.toISOString(),
  machine: {
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    node: process.versions.node,
    loadAtStart: machineLoad(),
    note: 'shared machine: other work runs beside the benchmark; compare ratios within one run only',
  },
  method: {
    relayedPackets: '2 x echoed messages received back by uclient',
    cpu: 'utime+stime of the server process (all threads) from /proc/PID/stat, after minus before the uclient run',
    deliveredPps: 'echoed messages per second over the busy span of uclient progress lines',
  },
  targets: TARGETS.filter((t) => wanted.has(t.id)).map((t) => ({ id: t.id, label: t.label, note: t.note })),
  unavailable,
};

try {
  if (phases.has('relay')) {
    const wantedLoads = values.loads === undefined ? null : new Set(values.loads.split(','));
    const loads = (values.quick ? LOADS.quick : LOADS.full)
      .filter((load) => wantedLoads === null || wantedLoads.has(load.id))
      .map((load) =>
        load.id === 'saturating' && values['saturating-messages'] !== undefined
          ? { ...load, messages: Number(values['saturating-messages']) }
          : load,
      );
    const tls = loads.some((load) => load.transport === 'tls') ? await makeCertificate(tmpDir) : undefined;
    const warmSessions = Number(values['warm-sessions'] ?? (values.quick ? 200 : DEFAULT_WARM_SESSIONS));
    const relay = await relayPhase({
      targets: available,
      loads,
      repeat: Number(values.repeat),
      secret,
      tmpDir,
      profile: values.profile,
      profileDir,
      log,
      warmSessions,
      tls,
    });
    for (const u of unavailable) relay.skipped.push({ target: u.target, reason: u.reason });
    result.relay = { loads, warmSessions, ...relay, summary: summariseRelay(relay.runs) };
  }
  if (phases.has('allocations')) {
    const count = Number(values['alloc-count'] ?? (values.quick ? 2000 : 10000));
    const checkpoints = [1000, 10000].filter((c) => c <= count);
    if (!checkpoints.includes(count)) checkpoints.push(count);
    result.allocationCheckpoints = checkpoints;
    const targets = available.filter((t) => ALLOCATION_TARGETS.includes(t.id));
    // Beside icegate-native, the same on Node 24 (the production image's runtime) when
    // scripts/node24.sh has fetched it; otherwise the report says why it is missing.
    if (targets.some((t) => t.id === 'icegate-native') && !wanted.has('icegate-native-node24')) {
      const node24 = TARGETS.find((t) => t.id === 'icegate-native-node24');
      const status = await node24.available();
      if (status.ok) targets.push(node24);
      else unavailable.push({ target: node24.id, reason: status.reason });
    }
    if (values.baseline !== undefined && targets.some((t) => t.id === 'icegate-native')) {
      targets.push(baselineTargets(values.baseline).native);
    }
    if (targets.some((t) => t.id === 'icegate')) {
      if (values.baseline !== undefined) targets.push(baselineTargets(values.baseline).icegate);
      targets.push(ICEGATE_REDIS);
      if (values.baseline !== undefined) targets.push(baselineTargets(values.baseline).redis);
    }
    result.allocations = await allocationPhase({
      targets,
      count,
      checkpoints,
      warmCount: Number(values['alloc-warm-up'] ?? (values.quick ? 500 : DEFAULT_ALLOCATION_WARM_UP)),
      secret,
      tmpDir,
      rounds: Number(values.repeat),
      log,
    });
    // For scale beside the servers' RSS at rest: a bare Node at rest on each Node the phase ran.
    result.bareNode = [];
    const nodes = [
      process.execPath,
      ...(targets.some((t) => t.id === 'icegate-native-node24') ? [NODE24_BIN] : []),
    ];
    for (const nodePath of nodes) {
      log(`allocations: a bare ${nodePath} at rest`);
      result.bareNode.push(await bareNodeAtRest(nodePath, 10_000));
    }
    for (const u of unavailable.filter((x) => ALLOCATION_TARGETS.includes(x.target))) {
      result.allocations.push({ target: u.target, error: u.reason });
    }
  }
  if (phases.has('credentials')) {
    result.credentials = wanted.has('icegate')
      ? await credentialPhase({
          secret,
          tmpDir,
          rounds: Number(values.repeat),
          log,
          ...(values.profile ? { profileDir } : {}),
          ...(values.baseline === undefined ? {} : { baselineMain: join(values.baseline, 'src/main.js') }),
        })
      : { available: false, reason: 'icegate not selected' };
  }
} finally {
  stopAllChildren();
  // icegate data directories (with their generated secrets) and pid files go; profiles stay.
  for (const entry of readdirSync(tmpDir)) {
    if (entry !== 'profiles') rmSync(join(tmpDir, entry), { recursive: true, force: true });
  }
}

result.machine.loadAtEnd = machineLoad();
result.durationS = Math.round((performance.now() - t0) / 1000);
result.goals = judgeGoals(result);
const file =
  values.out ??
  join(
    resultsDir,
    `${started
      .toISOString()
      .replace(/:/g, '-')
      .replace(/\.\d+Z$/, 'Z')}.json`,
  );
if (!existsSync(resultsDir)) mkdirSync(resultsDir, { recursive: true });
writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
process.stdout.write(`${renderReport(result)}\n\nresults: ${file}\n`);
process.exit(0);
