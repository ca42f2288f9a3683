// Before/after for allocations on a busy shared machine: this build's icegate against another
// build (`.baseline-dist/`, a copy of the other build's dist inside this checkout) and coturn,
// interleaved, each fresh, 3 s at rest, then bench/alloc-load.mjs opens 5,000 allocations (1,024
// client addresses) with a checkpoint at 1,000. Prints, per server and round, its CPU time (/proc,
// all threads) per allocation for the first 1,000 (cold JIT) and for the next 4,000, and the rates
// of both segments, and the next 4,000's CPU split into user and system (kernel) time. CPU per
// allocation moves far less than the rate with the machine's other work.
//
// Usage: node bench/alloc-ab.mjs [js|redis|native] [rounds]
//   js: this build (JS data plane), the baseline build, coturn; native: this build's native data
//   plane against its JS data plane (issue 19, point 1).
// ALLOC_AB_PROFILE_DIR=dir: each icegate run writes a --cpu-prof profile there.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { allocLoadArgs } from './allocation-phase.mjs';
import { sleep, startChild, stopAllChildren } from './child-processes.mjs';
import { cpuSeconds, cpuSplitSeconds, machineLoad } from './proc-stats.mjs';
import { baselineTargets, ICEGATE_REDIS, launch, TARGETS } from './targets.mjs';

const root = new URL('..', import.meta.url).pathname;
const tmpDir = join(root, 'bench/results/tmp');
const icegate = TARGETS.find((t) => t.id === 'icegate');
const base = baselineTargets(join(root, '.baseline-dist'));
const icegateNative = TARGETS.find((t) => t.id === 'icegate-native');
const coturn = TARGETS.find((t) => t.id === 'coturn');
const which = process.argv[2] ?? 'js';
const targets =
  which === 'redis'
    ? [ICEGATE_REDIS, base.redis]
    : which === 'native'
      ? [icegateNative, icegate]
      : [icegate, base.icegate, coturn];
const profileDir = process.env.ALLOC_AB_PROFILE_DIR;
const rounds = Number(process.argv[3] ?? 3);
for (let round = 1; round <= rounds; round++) {
  for (const target of targets) {
    const secret = randomBytes(12).toString('hex');
    const server = await launch(target, {
      secret,
      tmpDir,
      ...(profileDir && target !== coturn ? { profileDir } : {}),
    });
    await sleep(3000);
    const pid = server.child.pid;
    const cpu = [cpuSeconds(pid)];
    const split = [cpuSplitSeconds(pid)];
    const times = [performance.now()];
    let done;
    const finished = new Promise((resolve) => {
      const gen = startChild(
        'alloc-load',
        process.execPath,
        allocLoadArgs(server.port, { count: 5000, checkpoints: [1000, 5000] }),
        {
          env: { ...process.env, BENCH_SECRET: secret },
          stdin: 'pipe',
          timeoutMs: 120000,
          onLine: (line) => {
            if (line.includes('"checkpoint"')) {
              cpu.push(cpuSeconds(pid));
              split.push(cpuSplitSeconds(pid));
              times.push(performance.now());
              gen.child.stdin.write('continue\n');
            }
            if (line.includes('"done"')) {
              done = JSON.parse(line);
              resolve(gen);
            }
          },
        },
      );
      gen.exited.then(() => resolve(gen));
    });
    const gen = await finished;
    const load = machineLoad().loadavg1;
    const seg = done?.segments ?? [];
    console.log(
      JSON.stringify({
        round,
        target: target.id,
        load,
        cpuUsFirst1000: Math.round(((cpu[1] - cpu[0]) * 1e6) / 1000),
        cpuUsNext4000: Math.round(((cpu[2] - cpu[1]) * 1e6) / 4000),
        // The same split into the process's user and kernel time (system calls: sockets, sends).
        userUsNext4000: split[2] && Math.round(((split[2].user - split[1].user) * 1e6) / 4000),
        sysUsNext4000: split[2] && Math.round(((split[2].sys - split[1].sys) * 1e6) / 4000),
        rates: seg.map((s) => s.perSecond),
      }),
    );
    await server.child.stop('SIGTERM', 5000);
    await gen.stop('SIGKILL');
  }
}
stopAllChildren();
process.exit(0);
