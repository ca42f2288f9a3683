// Phase 2: allocation rate and memory per allocation. A fresh server; its resident memory at
// rest; then bench/alloc-load.mjs opens allocations until the target count or the first refusal,
// pausing at each checkpoint so the server's VmRSS is read with nothing in flight.
import { join } from 'node:path';
import { sleep, startChild } from './child-processes.mjs';
import { cpuSeconds, machineLoad, rssKiB, rssSplitKiB } from './proc-stats.mjs';
import { launch } from './targets.mjs';

const root = new URL('..', import.meta.url).pathname;

async function measureServer(
  target,
  { count, checkpoints, window, sources, secret, tmpDir, settleMs, restMs, log },
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
    const cpuBefore = cpuSeconds(pid);
    const loadBefore = machineLoad();
    const points = [];
    let done = null;
    const finished = new Promise((resolve) => {
      generator = startChild(
        'alloc-load',
        process.execPath,
        [
          join(root, 'bench/alloc-load.mjs'),
          '--port',
          String(server.port),
          '--count',
          String(count),
          '--checkpoints',
          checkpoints.join(','),
          '--window',
          String(window),
          '--sources',
          String(sources),
        ],
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
              await sleep(settleMs);
              const rss = rssKiB(pid);
              points.push({
                live: event.live,
                rssKiB: rss,
                growthKiB: rss === null || rssBaseline === null ? null : rss - rssBaseline,
                bytesPerAllocation:
                  rss === null || rssBaseline === null
                    ? null
                    : Math.round(((rss - rssBaseline) * 1024) / event.live),
              });
              log(`allocations: ${target.id} at ${event.live} live, VmRSS ${rss} KiB`);
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
    await finished;
    const cpuAfter = cpuSeconds(pid);
    if (done && !points.some((p) => p.live === done.live) && done.live > 0) {
      await sleep(settleMs);
      const rss = rssKiB(pid);
      points.push({
        live: done.live,
        rssKiB: rss,
        growthKiB: rss === null || rssBaseline === null ? null : rss - rssBaseline,
        bytesPerAllocation:
          rss === null || rssBaseline === null ? null : Math.round(((rss - rssBaseline) * 1024) / done.live),
        note: 'where the run stopped',
      });
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
