// Phase 2: allocation rate and memory per allocation. A fresh server; its resident memory at
// rest; a warm-up (a batch of allocations opened and deleted, whose figures are kept as the cold
// ones); then bench/alloc-load.mjs opens allocations until the target count or the first refusal,
// pausing at each checkpoint so the server's VmRSS is read with nothing in flight.
import { join } from 'node:path';
import { sleep, startChild } from './child-processes.mjs';
import { cpuSeconds, machineLoad, rssKiB, rssSplitKiB } from './proc-stats.mjs';
import { launch } from './targets.mjs';

const root = new URL('..', import.meta.url).pathname;

/**
 * bench/alloc-load.mjs's command line (after `node`): its path, the server's port and the load's
 * shape (`checkpoints`: live counts to pause at; `release`: delete everything at the end).
 */
export function allocLoadArgs(
  port,
  { count, checkpoints = [], window = 64, sources = 1024, release = false },
) {
  return [
    join(root, 'bench/alloc-load.mjs'),
    ...['--port', String(port), '--count', String(count), '--checkpoints', checkpoints.join(',')],
    ...['--window', String(window), '--sources', String(sources)],
    ...(release ? ['--release'] : []),
  ];
}

/**
 * Runs bench/alloc-load.mjs against `server` (`release`: it deletes its allocations at the end);
 * `onCheckpoint(event)` runs at each checkpoint before the generator is told to go on. Resolves
 * to {done, generator}: the generator's `done` event (null when it never sent one) and its handle,
 * still running unless it released.
 */
function runGenerator(
  server,
  { count, checkpoints, window, sources, secret, release = false, onCheckpoint },
) {
  let done = null;
  let generator = null;
  const finished = new Promise((resolve) => {
    generator = startChild(
      'alloc-load',
      process.execPath,
      allocLoadArgs(server.port, { count, checkpoints, window, sources, release }),
      {
        env: { ...process.env, BENCH_SECRET: secret },
        stdin: 'pipe',
        timeoutMs: 240_000,
        onLine: async (line) => {
          let event;
          try {
            event = JSON.parse(line);
          } catch {
            return;
          }
          if (event.event === 'checkpoint') {
            await onCheckpoint?.(event);
            generator.child.stdin.write('continue\n');
          } else if (event.event === 'done') {
            done = event;
            resolve();
          }
        },
      },
    );
    generator.exited.then(() => resolve());
  });
  return finished.then(() => ({ done, generator }));
}

/**
 * The warm-up before the measured run: `count` allocations opened as the measured run opens them,
 * then deleted (Refresh with LIFETIME 0). A JIT runtime spends its first few thousand Allocate
 * transactions interpreting and compiling; coturn gets the same treatment, so all servers are
 * treated alike, and the figures of this first batch after start are kept as the cold ones:
 * {count, live, released, allocationsPerSecond, serverCpuSeconds (while opening)}.
 */
async function warmUpServer(server, { count, window, sources, secret }) {
  const pid = server.child.pid;
  const cpuBefore = cpuSeconds(pid);
  let cpuOpened = null;
  const { done, generator } = await runGenerator(server, {
    count,
    checkpoints: [count],
    window,
    sources,
    secret,
    release: true,
    onCheckpoint: () => {
      cpuOpened = cpuSeconds(pid);
    },
  });
  await generator.stop('SIGKILL');
  return {
    count,
    live: done?.live ?? null,
    released: done?.released ?? null,
    allocationsPerSecond: done?.perSecond ?? null,
    serverCpuSeconds:
      cpuBefore === null || cpuOpened === null ? null : Math.round((cpuOpened - cpuBefore) * 1000) / 1000,
    firstError: done?.firstError ?? (done ? null : { code: 'generator_failed' }),
  };
}

async function measureServer(
  target,
  { count, checkpoints, window, sources, secret, tmpDir, settleMs, restMs, warmCount, log },
) {
  const server = await launch(target, { secret, tmpDir });
  const pid = server.child.pid;
  let generator = null;
  try {
    // At rest: long enough after start for start-up garbage to be collected (a Node server's
    // post-start collections run in its first seconds), as an idle node in service would be.
    await sleep(restMs);
    const rssBaseline = rssKiB(pid);
    const restSplit = rssSplitKiB(pid);
    let warmUp = null;
    if (warmCount > 0) {
      warmUp = await warmUpServer(server, { count: warmCount, window, sources, secret });
      log(
        `allocations: ${target.id} warm-up, ${warmUp.live} opened at ${warmUp.allocationsPerSecond}/s, ${warmUp.released} deleted`,
      );
      await sleep(settleMs);
    }
    const cpuBefore = cpuSeconds(pid);
    const loadBefore = machineLoad();
    const points = [];
    // One checkpoint: the server's VmRSS with `live` allocations, and its growth over the rest.
    const pointAt = (live, extra = {}) => {
      const rss = rssKiB(pid);
      const growthKiB = rss === null || rssBaseline === null ? null : rss - rssBaseline;
      return {
        live,
        rssKiB: rss,
        growthKiB,
        bytesPerAllocation: growthKiB === null ? null : Math.round((growthKiB * 1024) / live),
        ...extra,
      };
    };
    const run = await runGenerator(server, {
      count,
      checkpoints,
      window,
      sources,
      secret,
      onCheckpoint: async (event) => {
        await sleep(settleMs);
        const point = pointAt(event.live);
        points.push(point);
        log(`allocations: ${target.id} at ${event.live} live, VmRSS ${point.rssKiB} KiB`);
      },
    });
    generator = run.generator;
    const done = run.done;
    const cpuAfter = cpuSeconds(pid);
    if (done && !points.some((p) => p.live === done.live) && done.live > 0) {
      await sleep(settleMs);
      points.push(pointAt(done.live, { note: 'where the run stopped' }));
    }
    return {
      target: target.id,
      requested: count,
      clientAddresses: sources,
      live: done?.live ?? null,
      attempted: done?.attempted ?? null,
      allocationsPerSecond: done?.perSecond ?? null,
      activeMs: done?.activeMs ?? null,
      segments: done?.segments ?? [],
      firstError:
        done?.firstError ??
        (done ? null : { code: 'generator_failed', message: generator.lines.slice(-3).join(' | ') }),
      rssBaselineKiB: rssBaseline,
      restMs,
      rssAtRest: restSplit,
      warmUp,
      checkpoints: points,
      serverCpuSeconds:
        cpuBefore === null || cpuAfter === null ? null : Math.round((cpuAfter - cpuBefore) * 1000) / 1000,
      machineLoad: { before: loadBefore, after: machineLoad() },
      notes: server.notes ?? [],
    };
  } finally {
    await server.child.stop('SIGTERM', 5000);
    await generator?.stop('SIGKILL');
  }
}

/**
 * A bare Node process at rest (`node -e` with a timer and nothing else), for scale beside a
 * server's RSS at rest: what any program on that Node holds before its own code. `nodePath` is the
 * binary, `restMs` as long as the servers' rest. Returns {node, rssAtRest} (KiB, as rssSplitKiB).
 */
export async function bareNodeAtRest(nodePath, restMs) {
  const child = startChild(
    'bare-node',
    nodePath,
    ['-e', 'process.stdout.write(process.version + "\\n"); setInterval(() => {}, 1 << 30);'],
    { timeoutMs: restMs + 30_000 },
  );
  try {
    await sleep(restMs);
    return { node: child.stdoutLines[0] ?? null, path: nodePath, rssAtRest: rssSplitKiB(child.pid) };
  } finally {
    await child.stop('SIGKILL');
  }
}

/** Allocations opened and deleted before the measured run (`npm run bench -- --alloc-warm-up N`). */
export const DEFAULT_ALLOCATION_WARM_UP = 3_000;

/**
 * Runs phase 2 on the given targets (icegate and coturn), `rounds` times (bench --repeat). Each
 * round measures every target once on a fresh server, the order reversed every other round so
 * that a drift in the machine's load over the run falls on both sides; each result names its
 * round. The goals compare each icegate figure with coturn's of the same round, then take the
 * median over the rounds (bench/goals.mjs).
 */
export async function allocationPhase({
  targets,
  count,
  checkpoints,
  window = 64,
  sources = 1024,
  secret,
  tmpDir,
  restMs = 10_000,
  warmCount = DEFAULT_ALLOCATION_WARM_UP,
  rounds = 1,
  log,
}) {
  const results = [];
  for (let round = 1; round <= rounds; round += 1) {
    const order = round % 2 === 1 ? targets : [...targets].reverse();
    for (const target of order) {
      log(`allocations: ${target.id}, up to ${count}${rounds > 1 ? ` (round ${round} of ${rounds})` : ''}`);
      try {
        const measured = await measureServer(target, {
          count,
          checkpoints,
          window,
          sources,
          secret,
          tmpDir,
          settleMs: 1000,
          restMs,
          warmCount,
          log,
        });
        results.push(rounds > 1 ? { round, ...measured } : measured);
      } catch (err) {
        results.push({
          ...(rounds > 1 ? { round } : {}),
          target: target.id,
          error: String(err.message ?? err),
        });
      }
    }
  }
  return results;
}
