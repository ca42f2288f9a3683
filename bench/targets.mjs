// The servers under test, each started fresh for every measurement with equivalent settings:
// UDP on one listening port on 127.0.0.1, relay sockets on 127.0.0.1 in RELAY_RANGE, the TURN
// REST secret (or, for node-turn, one long-term user with a REST-shaped name), loopback peers
// allowed, no TLS/DTLS, no CLI.
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startChild } from './child-processes.mjs';
import { RELAY_RANGE, takeFreePort } from './ports.mjs';
import { restCredential } from './rest-credential.mjs';
import { waitForStun } from './stun-probe.mjs';

/** The tenants the benchmark's credentials name: uclient's relay runs and the allocation load. */
export const BENCH_TENANTS = Object.freeze(['acme', 'bench']);

const root = new URL('..', import.meta.url).pathname;

/** Node's flags for a server run under the CPU profiler when `profileDir` is given (bench --profile). */
export function nodeArgs(profileDir) {
  return profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
}

/** coturn's TLS options: the run's certificate on `tlsPort`, or no TLS/DTLS listener at all. */
function coturnTlsArgs(tls, tlsPort) {
  return tls
    ? [`--cert=${tls.cert}`, `--pkey=${tls.key}`, `--tls-listening-port=${tlsPort}`, '--no-dtls']
    : ['--no-tls', '--no-dtls'];
}

function coturnArgs(port, secret, extra, tls, tlsPort) {
  return [
    '-n',
    '--use-auth-secret',
    `--static-auth-secret=${secret}`,
    '--realm=icegate',
    '--listening-ip=127.0.0.1',
    `--listening-port=${port}`,
    '--relay-ip=127.0.0.1',
    `--min-port=${RELAY_RANGE.min}`,
    `--max-port=${RELAY_RANGE.max}`,
    '--allow-loopback-peers',
    '--no-cli',
    ...coturnTlsArgs(tls, tlsPort),
    '--log-file=stdout',
    '--simple-log',
    // Its default pid file is /var/run/turnserver.pid, shared with any other coturn on the machine.
    `--pidfile=${join(root, 'bench/results/tmp', `turnserver-${port}.pid`)}`,
    ...extra,
  ];
}

function coturnTarget(id, label, extra, note) {
  return {
    id,
    label,
    note,
    transports: ['udp', 'tcp', 'tls'],
    async available() {
      return existsSync('/usr/bin/turnserver')
        ? { ok: true }
        : { ok: false, reason: 'turnserver not installed' };
    },
    async start({ secret, tls }) {
      const port = await takeFreePort(2);
      // Two: coturn also listens on the TLS port + 1 (its RFC 5780 alternative port).
      const tlsPort = await takeFreePort(2);
      const child = startChild(id, 'turnserver', coturnArgs(port, secret, extra, tls, tlsPort), {
        timeoutMs: 600_000,
      });
      return { child, port, tlsPort, auth: (tenant) => ({ secret, tenant }) };
    },
  };
}

/**
 * icegate's order history for the bench tenants: one `initial` order received yesterday, so
 * support is active now, with enough licenses that the allocation quota
 * (licenses x TURN_ALLOCATIONS_PER_LICENSE) stays above the allocation phase's 10,000.
 */
function prepareIcegateData(dataDir, tenants) {
  mkdirSync(dataDir, { recursive: true });
  const receivedAt = new Date(Date.now() - 86_400_000).toISOString();
  const files = [];
  for (const tenant of tenants) {
    const file = join(dataDir, `${tenant}-orders.json`);
    writeFileSync(
      file,
      JSON.stringify({
        tenant,
        orders: [{ id: `bench-${tenant}-initial`, kind: 'initial', receivedAt, licenses: 5000 }],
      }),
    );
    files.push(file);
  }
  return files;
}

/**
 * Imports `tenants` (each with active support and 5,000 licenses) into the icegate file store at
 * `dataDir` with the icegate CLI; resolves to null, or to a note saying what failed.
 */
export async function importTenants(dataDir, tenants = BENCH_TENANTS) {
  const cli = join(root, 'dist/src/cli/main.js');
  if (!existsSync(cli)) return 'dist/src/cli/main.js missing: tenants not imported';
  for (const file of prepareIcegateData(dataDir, tenants)) {
    const child = startChild('icegate import', process.execPath, [cli, 'import', file], {
      env: { ...process.env, DATA_DIR: dataDir },
      timeoutMs: 30_000,
    });
    const exit = await child.exited;
    if (exit.code !== 0) return `icegate import failed: ${child.lines.slice(-3).join(' | ')}`;
  }
  return null;
}

const icegateMain = join(root, 'dist/src/main.js');
/**
 * icegate's command line exactly as `npm start` (and the Dockerfile's CMD, which a test keeps
 * equal to it) runs it: the start script's words after `node`, split into the Node flags and the
 * entry point with its arguments (`dist/src/cli/main.js serve`), so memory at rest is the one of
 * the process operators run.
 */
const { icegateNodeFlags, icegateEntry } = (() => {
  const start = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts.start.split(' ');
  const entry = start.findIndex((word) => word.startsWith('dist/'));
  return {
    icegateNodeFlags: start.slice(1, entry),
    icegateEntry: [join(root, start[entry]), ...start.slice(entry + 1)],
  };
})();

/** icegate: `node dist/src/main.js` (run `npm run build` first), embedded mode in a fresh DATA_DIR, JS data path. */
const icegate = {
  id: 'icegate',
  label: 'icegate',
  note: 'npm start (node dist/src/cli/main.js serve) with TURN_DATA_PLANE=js, embedded mode (file store, in-process cache)',
  transports: ['udp', 'tcp', 'tls'],
  async available() {
    if (!existsSync(icegateMain)) return { ok: false, reason: 'not available: dist/src/main.js missing' };
    const source = join(root, 'src/main.ts');
    if (existsSync(source) && statSync(source).mtimeMs > statSync(icegateMain).mtimeMs) {
      return { ok: true, warning: 'dist/src/main.js is older than src/main.ts: run npm run build' };
    }
    return { ok: true };
  },
  /** `dataDir`: a file store already prepared (tenants imported); otherwise a fresh one is made. */
  async start({
    secret,
    tmpDir,
    profileDir,
    extraEnv = {},
    dataDir: readyDataDir,
    tls,
    main = icegateMain,
    nodePath = process.execPath,
  }) {
    const port = await takeFreePort(2);
    const httpPort = await takeFreePort(1);
    const metricsPort = await takeFreePort(1);
    const tlsPort = await takeFreePort(1);
    const dataDir = readyDataDir ?? join(tmpDir, `icegate-data-${port}`);
    const importNote = readyDataDir ? null : await importTenants(dataDir);
    const env = {
      ...process.env,
      TURN_PORT: String(port),
      TURN_TLS_PORT: String(tlsPort),
      TURN_LISTEN_IP: '127.0.0.1',
      TURN_SECRETS: secret,
      TURN_ALLOW_LOOPBACK_PEERS: 'true',
      TURN_MIN_PORT: String(RELAY_RANGE.min),
      TURN_MAX_PORT: String(RELAY_RANGE.max),
      HTTP_PORT: String(httpPort),
      METRICS_PORT: String(metricsPort),
      METRICS_LISTEN_IP: '127.0.0.1',
      DATA_DIR: dataDir,
      // Exit at SIGTERM without waiting for live allocations, so a run ends (and a profile is written).
      DRAIN_TIMEOUT_SECONDS: '0',
      // The `icegate` column is the JS data path; native is the default since issue 9, so it is
      // asked for explicitly (`icegate-native` overrides it through extraEnv).
      TURN_DATA_PLANE: 'js',
      // TLS loads only: the run's self-signed certificate (the UDP and TCP runs have no TLS listener).
      ...(tls ? { TURN_TLS_CERT: tls.cert, TURN_TLS_KEY: tls.key } : {}),
      ...extraEnv,
    };
    const child = startChild(
      'icegate',
      nodePath,
      // A --baseline build runs its dist/src/main.js; this build runs as npm start runs it.
      [...icegateNodeFlags, ...nodeArgs(profileDir), ...(main === icegateMain ? icegateEntry : [main])],
      {
        env,
        timeoutMs: 600_000,
      },
    );
    return {
      child,
      port,
      httpPort,
      tlsPort,
      dataDir,
      notes: importNote ? [importNote] : [],
      auth: (tenant) => ({ secret, tenant }),
    };
  },
};

/**
 * icegate on its native data plane, started as `icegate` is: `nodePath` runs it with the addon
 * at `addon` (the default Node's own build, or ICEGATE_NATIVE_ADDON for another Node's), not
 * available (with `missing` as the reason) while either file is absent.
 */
function nativeTarget({ id, label, note, nodePath = process.execPath, addon, missing, addonEnv = {} }) {
  return {
    id,
    label,
    note,
    // The relay loads it takes: UDP, and TCP and TLS clients (native/README.md says which plane serves each).
    transports: ['udp', 'tcp', 'tls'],
    async available() {
      if (!existsSync(nodePath) || !existsSync(addon))
        return { ok: false, reason: `not available: ${missing}` };
      return icegate.available();
    },
    start(options) {
      return icegate.start({
        ...options,
        nodePath,
        extraEnv: { TURN_DATA_PLANE: 'native', ...addonEnv, ...options.extraEnv },
      });
    },
  };
}

/**
 * icegate with TURN_DATA_PLANE=native (issue 9): the same process and settings, UDP clients'
 * ChannelData and peer data relayed by the addon. Not available when `npm ci` could not build it
 * (icegate would then run its JS path, which the `icegate` column already measures).
 */
const icegateNative = nativeTarget({
  id: 'icegate-native',
  label: 'icegate native',
  note: 'npm start (node dist/src/cli/main.js serve) with TURN_DATA_PLANE=native, embedded mode',
  addon: join(root, 'native/build/Release/icegate_native.node'),
  missing: 'native addon not built (npm run build:native)',
});

/**
 * Node 24, the production image's runtime (DESIGN.md "Runtime"), and the addon built for it, as
 * scripts/node24.sh leaves them (CI runs it; so can anyone: `scripts/node24.sh
 * test/unit/native/packet-class.test.ts` fetches Node 24, builds the addon and runs one file).
 */
const node24Dir = join(root, '.cache/node24');
export const NODE24_BIN = join(node24Dir, 'package/bin/node');
const node24Addon = join(node24Dir, 'native/build/Release/icegate_native.node');

/**
 * icegate-native's command line on Node 24: the figures of the process the image runs, beside
 * those on this machine's Node 20 (phase 2 adds it to icegate-native when it is there).
 */
const icegateNativeNode24 = nativeTarget({
  id: 'icegate-native-node24',
  label: 'icegate native on Node 24',
  note: "npm start's command line with TURN_DATA_PLANE=native on Node 24 (the production image's runtime), its addon built for Node 24 by scripts/node24.sh",
  nodePath: NODE24_BIN,
  addon: node24Addon,
  addonEnv: { ICEGATE_NATIVE_ADDON: node24Addon },
  missing: 'Node 24 and its addon build are made by scripts/node24.sh (.cache/node24)',
});

/**
 * The Node floor (bench/floor-relay.mjs). `plainLookup` leaves dgram's default address lookup in
 * place (the floor-plain target), to show what the synchronous literal lookup is worth.
 */
const floorTarget = (id, label, plainLookup) => ({
  id,
  label,
  note: `bench/floor-relay.mjs${plainLookup ? ' --plain-lookup' : ''}: hard-coded TURN control replies, ChannelData forwarded with no checks`,
  async available() {
    return { ok: true };
  },
  async start({ secret, profileDir }) {
    const port = await takeFreePort(2);
    const args = [
      ...nodeArgs(profileDir),
      join(root, 'bench/floor-relay.mjs'),
      '--port',
      String(port),
      '--relay-min',
      String(RELAY_RANGE.min),
      '--relay-max',
      String(RELAY_RANGE.max),
    ];
    if (plainLookup) args.push('--plain-lookup');
    const child = startChild(id, process.execPath, args, { timeoutMs: 600_000 });
    return { child, port, auth: (tenant) => ({ secret, tenant }) };
  },
});

/** node-turn 0.0.6 via bench/node-turn-server.mjs, with one long-term user. */
const nodeTurn = {
  id: 'node-turn',
  label: 'node-turn 0.0.6',
  note: 'npm node-turn 0.0.6, long-term user with a REST-shaped name (it has no REST secret)',
  async available() {
    return existsSync(join(root, 'node_modules/node-turn/package.json'))
      ? { ok: true }
      : { ok: false, reason: 'npm package node-turn not installed' };
  },
  async start({ secret }) {
    const port = await takeFreePort(2);
    const credential = restCredential(secret, 'acme');
    const child = startChild(
      'node-turn',
      process.execPath,
      [
        join(root, 'bench/node-turn-server.mjs'),
        '--port',
        String(port),
        '--relay-min',
        String(RELAY_RANGE.min),
        '--relay-max',
        String(RELAY_RANGE.max),
      ],
      {
        env: {
          ...process.env,
          NODE_TURN_USERNAME: credential.username,
          NODE_TURN_PASSWORD: credential.password,
        },
        timeoutMs: 600_000,
      },
    );
    return { child, port, auth: () => ({ username: credential.username, password: credential.password }) };
  },
};

/** The icegate target on its own, for the credential phase. */
export const ICEGATE = icegate;

/** The Redis the Redis variants use (BENCH_REDIS_URL to change it). */
export const BENCH_REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * icegate with REDIS_URL (allocation phase only): the fleet-wide allocation ledger in Redis
 * beside the embedded store, the JS data path as the `icegate` column. The per-license quota is
 * raised so ledger entries a previous run left (they age out with their allocation's lifetime)
 * never refuse this run's allocations; the ledger's work per allocation is the same.
 */
export const ICEGATE_REDIS = {
  ...icegate,
  id: 'icegate-redis',
  label: 'icegate, Redis fleet ledger',
  note: 'the icegate column with REDIS_URL (fleet allocation ledger, Redis cache)',
  start(options) {
    return icegate.start({
      ...options,
      extraEnv: { REDIS_URL: BENCH_REDIS_URL, TURN_ALLOCATIONS_PER_LICENSE: '100', ...options.extraEnv },
    });
  },
};

/**
 * `--baseline DIR`: the `icegate` (JS plane), `icegate-native` and `icegate-redis` columns run from
 * another build's dist directory (e.g. a copy of main's `dist/`), measured in the same run, beside
 * this build, for before/after figures on a machine whose load drifts. The native column loads
 * `DIR/icegate_native.node` (a copy of that build's addon) when present, else this build's addon.
 */
export function baselineTargets(distDir) {
  const main = join(distDir, 'src/main.js');
  const addon = join(distDir, 'icegate_native.node');
  return {
    native: {
      ...icegateNative,
      id: 'icegate-native-baseline',
      label: 'icegate native, baseline build',
      note: `the icegate-native column run from ${distDir}${existsSync(addon) ? ` with ${addon}` : ''}`,
      available: async () =>
        existsSync(main)
          ? icegateNative.available()
          : { ok: false, reason: `not available: ${main} missing` },
      start: (options) =>
        icegateNative.start({
          ...options,
          main,
          extraEnv: { ...(existsSync(addon) ? { ICEGATE_NATIVE_ADDON: addon } : {}), ...options.extraEnv },
        }),
    },
    icegate: {
      ...icegate,
      id: 'icegate-baseline',
      label: 'icegate, baseline build',
      note: `the icegate column run from ${distDir}`,
      available: async () =>
        existsSync(main) ? { ok: true } : { ok: false, reason: `not available: ${main} missing` },
      start: (options) => icegate.start({ ...options, main }),
    },
    redis: {
      ...ICEGATE_REDIS,
      id: 'icegate-redis-baseline',
      label: 'icegate, Redis fleet ledger, baseline build',
      note: `the icegate-redis column run from ${distDir}`,
      available: async () =>
        existsSync(main) ? { ok: true } : { ok: false, reason: `not available: ${main} missing` },
      start: (options) => ICEGATE_REDIS.start({ ...options, main }),
    },
  };
}

/** Every target, in the order the report shows them. */
export const TARGETS = Object.freeze([
  coturnTarget('coturn', 'coturn 4.6.1', [], 'turnserver, default relay threads (one per CPU)'),
  coturnTarget(
    'coturn-1t',
    'coturn 4.6.1 --relay-threads=1',
    ['--relay-threads=1'],
    'turnserver --relay-threads=1',
  ),
  icegate,
  icegateNative,
  icegateNativeNode24,
  floorTarget('floor', 'Node floor', false),
  floorTarget('floor-plain', 'Node floor, default lookup', true),
  nodeTurn,
]);

/** The targets a run uses when none are named: all but floor-plain. */
export const DEFAULT_TARGET_IDS = Object.freeze([
  'coturn',
  'coturn-1t',
  'icegate',
  'icegate-native',
  'floor',
  'node-turn',
]);

/**
 * Starts a target and waits until it answers a STUN Binding. Returns the running server, or
 * throws (after stopping it) when it does not come up.
 */
export async function launch(target, options) {
  const server = await target.start(options);
  const ready = await waitForStun('127.0.0.1', server.port, options.readyTimeoutMs ?? 20_000);
  if (!ready) {
    const tail = server.child.lines.slice(-5).join(' | ');
    await server.child.stop('SIGKILL');
    throw new Error(`${target.id} did not answer a STUN Binding on port ${server.port}: ${tail}`);
  }
  return server;
}
