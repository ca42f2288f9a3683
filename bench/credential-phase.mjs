// Phase 3: the credential endpoint, POST /v1/ice-servers with tenant JWTs, warm cache.
// icegate is pinned to CPU 0 and the load (bench/credential-load.mjs, autocannon) to CPU 1
// (taskset), so "requests per second on one core" means what it says. Two variants: embedded
// (in-process cache and limiter) and with Redis (REDIS_URL, default redis://127.0.0.1:6379).
//
// Tenants are imported and their license keys issued with the icegate CLI into one file store
// before icegate starts; each JWT is HS256 with the key's secret and `kid` = key id (DESIGN.md).
// HTTP_TRUST_PROXY=true lets the load spread its requests over many X-Forwarded-For addresses.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import jwt from 'jsonwebtoken';
import { sleep, startChild } from './child-processes.mjs';
import { takeFreePort } from './ports.mjs';
import { cpuSeconds, machineLoad } from './proc-stats.mjs';
import { BENCH_REDIS_URL, ICEGATE, importTenants, launch, nodeArgs } from './targets.mjs';

const root = new URL('..', import.meta.url).pathname;
const cli = join(root, 'dist/src/cli/main.js');
/**
 * Enough tenants that 6,000 requests per tenant per minute is never the limit of a warm-up and an
 * 8 s run at 5,000 requests/s (50,000 requests: about 3,100 per tenant).
 */
const TENANTS = Object.freeze(Array.from({ length: 16 }, (_, i) => `cred-${i + 1}`));
/** Unmeasured load before each measured run, the same for every variant (JIT, heap sizing). */
export const WARM_UP_SECONDS = 2;

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
  // stdout only: the CLI's notices (how a running node learns of the key) go to stderr.
  const issued = JSON.parse(child.stdoutLines.join('\n'));
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

async function runLoad(url, tokensFile, { durationS, connections }) {
  const out = [];
  const child = startChild(
    'credential-load',
    'taskset',
    [
      '-c',
      '1',
      process.execPath,
      join(root, 'bench/credential-load.mjs'),
      '--url',
      url,
      '--tokens',
      tokensFile,
      '--duration',
      String(durationS),
      '--connections',
      String(connections),
    ],
    { timeoutMs: (durationS + 30) * 1000, keepLines: 10, onLine: (line) => out.push(line) },
  );
  await child.exited;
  const json = out.find((l) => l.startsWith('{'));
  if (!json) throw new Error(`credential load printed no result: ${child.lines.join(' | ')}`);
  return JSON.parse(json);
}

/** The bare Express 5 route (bench/bare-express.mjs), started like icegate: {child, httpPort}. */
async function startBareExpress(profileDir, presetPrototypes = false) {
  const httpPort = await takeFreePort(1);
  const child = startChild(
    'bare-express',
    process.execPath,
    [
      // With --profile, the reference is profiled too, so the two profiles compare like for like.
      ...nodeArgs(profileDir),
      join(root, 'bench/bare-express.mjs'),
      '--port',
      String(httpPort),
      ...(presetPrototypes ? ['--preset-prototypes'] : []),
    ],
    { timeoutMs: 120_000 },
  );
  return { child, httpPort };
}

/**
 * Deletes the rate-limit counts of nodes without a key prefix (the bench's icegate runs with
 * none) from the Redis at `url`, so one Redis variant's requests never count against the next one
 * within the limits' 60 s window: two variants back to back (a --baseline round, or the next
 * round within a minute) otherwise met the tenants' limit and measured cheap 429 answers.
 */
async function clearRateLimits(url) {
  const { Redis } = await import('ioredis');
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', 'ratelimit:*', 'COUNT', 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

async function measureVariant(
  variant,
  { secret, tmpDir, dataDir, tokensFile, tokens, durationS, connections, log, profileDir },
) {
  if (variant.env?.REDIS_URL !== undefined) await clearRateLimits(variant.env.REDIS_URL);
  const serverStartedAt = Date.now();
  const server = variant.bare
    ? await startBareExpress(profileDir, variant.preset === true)
    : await launch(ICEGATE, {
        secret,
        tmpDir,
        dataDir,
        ...(profileDir === undefined ? {} : { profileDir }),
        extraEnv: { HTTP_TRUST_PROXY: 'true', ...variant.env },
        ...(variant.main === undefined ? {} : { main: variant.main }),
      });
  try {
    const base = `http://127.0.0.1:${server.httpPort}`;
    if (!(await waitForHttp(`${base}/healthz`, 20_000))) throw new Error('GET /healthz never answered 200');
    const pinned = await pin(server.child.pid, 0);
    // Warm: one request per tenant fills the entitlement cache.
    for (const [i, token] of tokens.entries()) {
      const warm = await fetch(`${base}/v1/ice-servers`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'x-forwarded-for': `10.78.0.${i + 1}`,
        },
        body: '{}',
      });
      if (warm.status !== 200) {
        return {
          variant: variant.id,
          error: `warm-up answered ${warm.status}: ${(await warm.text()).slice(0, 200)}`,
        };
      }
    }
    // The first seconds of load compile the request path and size the heap; without a warm-up
    // they fell inside the measured run and set its p99 (tens of ms even for the bare route).
    await runLoad(`${base}/v1/ice-servers`, tokensFile, { durationS: WARM_UP_SECONDS, connections });
    log(`credentials: ${variant.id}, ${durationS}s with ${connections} connections`);
    const loadBefore = machineLoad();
    const loadStartedAt = Date.now();
    const cpuBefore = cpuSeconds(server.child.pid);
    const figures = await runLoad(`${base}/v1/ice-servers`, tokensFile, { durationS, connections });
    const cpuAfter = cpuSeconds(server.child.pid);
    // The server's own CPU time per answered request (all threads, /proc): unlike requests/s, it
    // does not move with what else the shared machine runs.
    const serverCpuSeconds =
      cpuBefore === null || cpuAfter === null ? null : Math.round((cpuAfter - cpuBefore) * 1000) / 1000;
    return {
      variant: variant.id,
      pinnedToCpu0: pinned,
      ...figures,
      serverCpuSeconds,
      serverCpuUsPerRequest:
        serverCpuSeconds === null || !figures.total
          ? null
          : Math.round((serverCpuSeconds / figures.total) * 1e6),
      machineLoad: { before: loadBefore, after: machineLoad() },
      // With profileDir: where the load starts in the server's profile (start-up left out).
      ...(profileDir === undefined ? {} : { profileSkipMs: loadStartedAt - serverStartedAt }),
    };
  } finally {
    await server.child.stop('SIGTERM', 5000);
  }
}

/**
 * Runs phase 3, or says why it cannot: the bare Express 5 route, icegate embedded and icegate
 * with Redis, one after another, `rounds` times (interleaved), each on a fresh server.
 */
export async function credentialPhase({
  secret,
  tmpDir,
  durationS = 8,
  connections = 50,
  rounds = 1,
  log,
  baselineMain,
  profileDir,
  only,
}) {
  const availability = await ICEGATE.available();
  if (!availability.ok) return { available: false, reason: availability.reason };
  if (!existsSync(cli)) return { available: false, reason: 'not available: dist/src/cli/main.js missing' };
  const dataDir = join(tmpDir, `icegate-credentials-${process.pid}-${Date.now()}`);
  log(`credentials: importing ${TENANTS.length} tenants and issuing their keys`);
  const importNote = await importTenants(dataDir, TENANTS);
  if (importNote) return { available: false, reason: importNote };
  const tokens = [];
  for (const tenant of TENANTS) tokens.push(tenantToken(await issueKey(dataDir, tenant)));
  const tokensFile = join(dataDir, 'bench-tokens.json');
  writeFileSync(tokensFile, JSON.stringify(tokens));
  const variants = [
    { id: 'bare-express', bare: true },
    // The same bare route on a server built as icegate builds its own (app-server.ts): reported
    // beside the reference, so the ratio to the plain route is not read as icegate's logic alone.
    { id: 'bare-express-preset', bare: true, preset: true },
    { id: 'embedded', env: {} },
    { id: 'redis', env: { REDIS_URL: BENCH_REDIS_URL } },
    // --baseline: the same two from another build, in the same round.
    ...(baselineMain === undefined
      ? []
      : [
          { id: 'embedded-baseline', env: {}, main: baselineMain },
          { id: 'redis-baseline', env: { REDIS_URL: BENCH_REDIS_URL }, main: baselineMain },
        ]),
  ];
  const results = [];
  for (let round = 1; round <= rounds; round += 1) {
    for (const variant of variants.filter((v) => only === undefined || only.includes(v.id))) {
      try {
        const measured = await measureVariant(variant, {
          secret,
          tmpDir,
          dataDir,
          tokensFile,
          tokens,
          durationS,
          connections,
          log,
          profileDir,
        });
        results.push({ round, ...measured });
      } catch (err) {
        results.push({ round, variant: variant.id, error: String(err.message ?? err) });
      }
    }
  }
  // Each icegate variant as a ratio to the bare route of its own round.
  for (const r of results) {
    const bare = results.find((b) => b.round === r.round && b.variant === 'bare-express');
    if (r.requestsPerSecond !== undefined && bare?.requestsPerSecond) {
      r.vsBareExpress = Math.round((r.requestsPerSecond / bare.requestsPerSecond) * 100) / 100;
    }
    const preset = results.find((b) => b.round === r.round && b.variant === 'bare-express-preset');
    if (r.requestsPerSecond !== undefined && preset?.requestsPerSecond) {
      r.vsBarePreset = Math.round((r.requestsPerSecond / preset.requestsPerSecond) * 100) / 100;
    }
  }
  return {
    available: true,
    warning: availability.warning,
    tenants: TENANTS.length,
    durationS,
    connections,
    results,
  };
}
