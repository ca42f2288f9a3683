// Phase 3: the credential endpoint, POST /v1/ice-servers with a tenant JWT, warm cache.
// icegate is pinned to CPU 0 and autocannon to CPU 1 (taskset), so "requests per second on one
// core" means what it says. Two variants: embedded (in-process cache) and with Redis.
//
// Until icegate's composition root exists (dist/src/main.js) the phase reports "not available".
// The license key is issued with the icegate CLI into the file store before the server starts;
// the JWT is HS256 with the key's secret and `kid` = key id (DESIGN.md).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import jwt from 'jsonwebtoken';
import { sleep, startChild } from './child-processes.mjs';
import { machineLoad } from './proc-stats.mjs';
import { ICEGATE, launch } from './targets.mjs';

const root = new URL('..', import.meta.url).pathname;
const cli = join(root, 'dist/src/cli/main.js');
const autocannonBin = join(root, 'node_modules/autocannon/autocannon.js');

/** Issues a license key for `tenant` into the file store at `dataDir`; resolves to {keyId, key}. */
async function issueKey(dataDir, tenant) {
  const child = startChild(
    'icegate license issue',
    process.execPath,
    [cli, 'license', 'issue', tenant, '--server', 'bench.invalid'],
    { env: { ...process.env, DATA_DIR: dataDir }, timeoutMs: 30_000, keepLines: 50 },
  );
  const exit = await child.exited;
  if (exit.code !== 0) throw new Error(`license issue failed: ${child.lines.slice(-3).join(' | ')}`);
  const issued = JSON.parse(child.lines.join('\n'));
  return { keyId: issued.keyId, key: issued.key };
}

function tenantToken({ keyId, key }) {
  const secret = key.slice(key.indexOf('.') + 1);
  return jwt.sign({ sub: 'bench-user' }, secret, { algorithm: 'HS256', keyid: keyId, expiresIn: 540 });
}

async function waitForHttp(url, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url);
      if (response.ok) return true;
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  return false;
}

async function pin(pid, cpu) {
  const child = startChild('taskset', 'taskset', ['-a', '-p', '-c', String(cpu), String(pid)], {
    timeoutMs: 10_000,
  });
  const exit = await child.exited;
  return exit.code === 0;
}

async function autocannon(url, token, { durationS, connections }) {
  const args = [
    '-c',
    '1',
    process.execPath,
    autocannonBin,
    '-j',
    '-c',
    String(connections),
    '-d',
    String(durationS),
  ];
  args.push('-m', 'POST', '-H', `authorization=Bearer ${token}`, '-H', 'content-type=application/json');
  args.push('-b', '{}', url);
  const out = [];
  const child = startChild('autocannon', 'taskset', args, {
    timeoutMs: (durationS + 30) * 1000,
    keepLines: 5,
    onLine: (line) => out.push(line),
  });
  await child.exited;
  const json = out.find((l) => l.startsWith('{'));
  if (!json) throw new Error(`autocannon printed no result: ${child.lines.join(' | ')}`);
  const r = JSON.parse(json);
  return {
    requestsPerSecond: r.requests?.average ?? null,
    latencyMs: { p50: r.latency?.p50 ?? null, p99: r.latency?.p99 ?? null, max: r.latency?.max ?? null },
    total: r.requests?.total ?? null,
    non2xx: r.non2xx ?? null,
    errors: r.errors ?? null,
    timeouts: r.timeouts ?? null,
  };
}

async function measureVariant(variant, { secret, tmpDir, durationS, connections, log }) {
  let key = null;
  const server = await launch(ICEGATE, {
    secret,
    tmpDir,
    extraEnv: variant.env,
    prepare: async (dataDir) => {
      key = await issueKey(dataDir, 'acme');
      return key.keyId;
    },
  });
  try {
    const base = `http://127.0.0.1:${server.httpPort}`;
    if (!(await waitForHttp(`${base}/healthz`, 20_000))) throw new Error('GET /healthz never answered 200');
    const pinned = await pin(server.child.pid, 0);
    const token = tenantToken(key);
    const warm = await fetch(`${base}/v1/ice-servers`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{}',
    });
    if (warm.status !== 200) {
      return {
        variant: variant.id,
        error: `warm-up answered ${warm.status}: ${(await warm.text()).slice(0, 200)}`,
      };
    }
    log(`credentials: ${variant.id}, ${durationS}s with ${connections} connections`);
    const loadBefore = machineLoad();
    const figures = await autocannon(`${base}/v1/ice-servers`, token, { durationS, connections });
    return {
      variant: variant.id,
      pinnedToCpu0: pinned,
      ...figures,
      machineLoad: { before: loadBefore, after: machineLoad() },
    };
  } finally {
    await server.child.stop('SIGTERM', 5000);
  }
}

/** Runs phase 3, or says why it cannot. */
export async function credentialPhase({ secret, tmpDir, durationS = 8, connections = 10, log }) {
  const availability = await ICEGATE.available();
  if (!availability.ok) return { available: false, reason: availability.reason };
  if (!existsSync(cli)) return { available: false, reason: 'not available: dist/src/cli/main.js missing' };
  const variants = [
    { id: 'embedded', env: {} },
    { id: 'redis', env: { REDIS_URL: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379' } },
  ];
  const results = [];
  for (const variant of variants) {
    try {
      results.push(await measureVariant(variant, { secret, tmpDir, durationS, connections, log }));
    } catch (err) {
      results.push({ variant: variant.id, error: String(err.message ?? err) });
    }
  }
  return { available: true, warning: availability.warning, results };
}
