// The benchmark's goal table: each issue 19 goal judged from one run's figures, never passed when
// the figures are missing.
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs module of the benchmark, without types
import { judgeGoals, renderGoals } from '../../../bench/goals.mjs';

interface Goal {
  goal: string;
  subject: string;
  ratio: number | null;
  met: boolean | null;
}

const relayRun = (load: string, target: string, cost: number, loss: number) => ({
  load,
  target,
  cpuSecondsPerMillionPackets: cost,
  lossPct: loss,
});

describe('bench goals', () => {
  it('holds each relay load to 1.0x coturn CPU per packet and to coturn loss', () => {
    const goals: Goal[] = judgeGoals({
      relay: {
        loads: [{ id: 'tcp-paced' }, { id: 'tls-saturating' }, { id: 'saturating' }],
        summary: [
          relayRun('tcp-paced', 'coturn', 30, 0),
          relayRun('tcp-paced', 'icegate-native', 27, 0),
          relayRun('tls-saturating', 'coturn', 40, 10),
          relayRun('tls-saturating', 'icegate-native', 30, 20),
          relayRun('saturating', 'coturn', 10, 0),
          relayRun('saturating', 'icegate-native', 11, 0),
        ],
      },
    });
    const by = (load: string) => goals.find((g) => g.goal.startsWith(`${load}:`));
    expect(by('tcp-paced')).toMatchObject({ ratio: 0.9, met: true });
    // Cheaper, but losing more than coturn: not met.
    expect(by('tls-saturating')).toMatchObject({ ratio: 0.75, met: false });
    expect(by('saturating')).toMatchObject({ ratio: 1.1, met: false });
  });

  it('judges allocations, memory at rest and the credential endpoint', () => {
    const goals: Goal[] = judgeGoals({
      allocationCheckpoints: [1000],
      allocations: [
        {
          target: 'coturn',
          allocationsPerSecond: 1000,
          rssBaselineKiB: 15_000,
          checkpoints: [{ live: 1000, bytesPerAllocation: 22_000 }],
        },
        { target: 'icegate', allocationsPerSecond: 1100, rssBaselineKiB: 70_000, checkpoints: [] },
        {
          target: 'icegate-native',
          allocationsPerSecond: 900,
          rssBaselineKiB: 59 * 1024,
          checkpoints: [{ live: 1000, bytesPerAllocation: 5_600 }],
        },
      ],
      credentials: {
        available: true,
        results: [
          { variant: 'bare-express', requestsPerSecond: 1000, latencyMs: { p99: 10 } },
          { variant: 'bare-express-preset', requestsPerSecond: 2000, latencyMs: { p99: 5 } },
          {
            variant: 'embedded',
            requestsPerSecond: 850,
            vsBareExpress: 0.85,
            vsBarePreset: 0.43,
            latencyMs: { p99: 19 },
          },
          {
            variant: 'redis',
            requestsPerSecond: 900,
            vsBareExpress: 0.9,
            vsBarePreset: 0.45,
            latencyMs: { p99: 25 },
          },
        ],
      },
    });
    const find = (prefix: string, subject: string) =>
      goals.find((g) => g.goal.startsWith(prefix) && g.subject === subject);
    expect(find('allocations/s >=', 'icegate')).toMatchObject({ ratio: 1.1, met: true });
    expect(find('allocations/s >=', 'icegate-native')).toMatchObject({ ratio: 0.9, met: false });
    // No Redis run: shown as not measured, not as met.
    expect(find('allocations/s with', 'icegate-redis')).toMatchObject({ met: null, ratio: null });
    expect(find('RSS at rest', 'icegate-native')).toMatchObject({ met: true });
    expect(find('bytes per live', 'icegate-native')).toMatchObject({ met: true });
    expect(find('POST', 'embedded')).toMatchObject({ ratio: 0.85, met: true });
    // Fast enough, but p99 over 20 ms.
    expect(find('POST', 'redis')).toMatchObject({ ratio: 0.9, met: false });
    // Beside it, the ratio to the bare route on a server built as icegate's: reported, never judged.
    expect(find('POST /v1/ice-servers x bare route', 'embedded')).toMatchObject({ ratio: 0.43, met: null });
    expect(find('POST /v1/ice-servers x bare route', 'redis')).toMatchObject({ ratio: 0.45, met: null });
    const printed = renderGoals(goals).join('\n');
    expect(printed).toContain('not measured');
    expect(printed).toContain('| NO |');
  });
  it('judges phase 2 run in rounds by the median of same-round ratios to coturn', () => {
    const run = (round: number, target: string, rate: number, cpuSeconds: number, restKiB: number) => ({
      round,
      target,
      allocationsPerSecond: rate,
      serverCpuSeconds: cpuSeconds,
      live: 1000,
      rssBaselineKiB: restKiB,
      checkpoints: [{ live: 1000, bytesPerAllocation: target === 'coturn' ? 22_000 : 4_000 }],
    });
    const goals: Goal[] = judgeGoals({
      allocationCheckpoints: [1000],
      allocations: [
        // Round 1: a quiet moment for both; round 2: the machine busy for both; round 3: icegate
        // slower. Against the median coturn rate (4,000) icegate's median (3,900) would fail; the
        // same-round ratios (1.05, 1.1, 0.9) give a median of 1.05.
        run(1, 'coturn', 4000, 0.2, 15_000),
        run(1, 'icegate-native', 4200, 0.18, 66 * 1024),
        run(2, 'icegate-native', 2200, 0.19, 67 * 1024),
        run(2, 'coturn', 2000, 0.21, 15_100),
        run(3, 'coturn', 5000, 0.19, 15_000),
        run(3, 'icegate-native', 4500, 0.2, 65 * 1024),
        // A failed run counts in no round.
        { round: 3, target: 'icegate', error: 'exited' },
        // Node 24 (the image's runtime), measured in one round: reported, never judged.
        run(1, 'icegate-native-node24', 3600, 0.21, 82 * 1024),
      ],
      machine: { node: '20.20.2' },
      bareNode: [
        { node: 'v20.20.2', rssAtRest: { rss: 40 * 1024, anon: 6 * 1024, file: 34 * 1024 } },
        { node: 'v24.22.3', rssAtRest: { rss: 43 * 1024, anon: 8 * 1024, file: 35 * 1024 } },
      ],
    });
    const find = (prefix: string, subject: string) =>
      goals.find((g) => g.goal.startsWith(prefix) && g.subject === subject);
    const rate = find('allocations/s >=', 'icegate-native') as Goal & { value: number; note: string };
    expect(rate).toMatchObject({ ratio: 1.05, met: true, value: 4200 });
    expect(rate.note).toBe('median of 3 rounds: 1.05, 1.1, 0.9');
    // CPU per allocation is reported beside it (icegate / coturn, lower is better), never judged.
    expect(find('server CPU', 'icegate-native')).toMatchObject({ ratio: 0.9, met: null });
    expect(find('allocations/s >=', 'icegate')).toMatchObject({ met: null, ratio: null });
    const rest = find('RSS at rest', 'icegate-native') as Goal & { value: string; note: string };
    expect(rest).toMatchObject({ value: '66 MiB', met: false });
    expect(rest.note).toContain('median of 3 rounds: 66, 67, 65 MiB');
    // Beside coturn, the bare Node of the same major version.
    expect(rest).toMatchObject({ reference: 'coturn 14.6 MiB; bare Node 40 MiB' });
    expect(find('RSS at rest on Node 24', 'icegate-native-node24')).toMatchObject({
      value: '82 MiB',
      reference: 'coturn 14.6 MiB; bare Node 43 MiB',
      met: null,
    });
    expect(find('allocations/s on Node 24', 'icegate-native-node24')).toMatchObject({
      ratio: 0.9,
      met: null,
    });
  });

  it('reports the warm-up as the cold figures beside coturn, never as the goal', () => {
    const run = (
      target: string,
      rate: number,
      cpuSeconds: number,
      coldRate: number,
      coldCpuSeconds: number,
    ) => ({
      target,
      allocationsPerSecond: rate,
      serverCpuSeconds: cpuSeconds,
      live: 10_000,
      rssBaselineKiB: 60 * 1024,
      checkpoints: [],
      warmUp: {
        count: 3000,
        live: 3000,
        released: 3000,
        allocationsPerSecond: coldRate,
        serverCpuSeconds: coldCpuSeconds,
      },
    });
    const goals: Goal[] = judgeGoals({
      allocationCheckpoints: [10_000],
      allocations: [run('coturn', 9000, 0.9, 6000, 0.3), run('icegate-native', 9000, 1.0, 4000, 0.69)],
    });
    const find = (prefix: string, subject: string) =>
      goals.find((g) => g.goal.startsWith(prefix) && g.subject === subject) as
        | (Goal & { value: number })
        | undefined;
    // The goal is judged on the measured run, after the warm-up.
    expect(find('allocations/s >=', 'icegate-native')).toMatchObject({ ratio: 1, met: true });
    expect(find('allocations/s in the first 3000 after start, cold', 'icegate-native')).toMatchObject({
      value: 4000,
      ratio: 0.67,
      met: null,
    });
    // 690 µs/3000 allocations against 300: 2.3x, reported.
    expect(
      find('server CPU µs per allocation (lower is better) in the first 3000', 'icegate-native'),
    ).toMatchObject({
      value: 230,
      ratio: 2.3,
      met: null,
    });
    // A run without a warm-up (older results) has no cold rows.
    const old = judgeGoals({
      allocationCheckpoints: [10_000],
      allocations: [
        { ...run('coturn', 9000, 0.9, 0, 0), warmUp: null },
        { ...run('icegate-native', 9000, 1.0, 0, 0), warmUp: null },
      ],
    }) as Goal[];
    expect(old.some((g) => g.goal.includes('cold'))).toBe(false);
  });

  it('leaves Node 24 out when it was not measured, and keeps missing goals visible', () => {
    const goals: Goal[] = judgeGoals({
      allocationCheckpoints: [1000],
      allocations: [
        { target: 'coturn', allocationsPerSecond: 1000, rssBaselineKiB: 15_000, checkpoints: [] },
      ],
    });
    expect(goals.some((g) => g.subject === 'icegate-native-node24')).toBe(false);
    expect(goals.find((g) => g.goal.startsWith('RSS at rest <='))).toMatchObject({ met: null, value: null });
  });
  it('leaves out of the credential goal a run that got answers other than 200', () => {
    const run = (
      round: number,
      variant: string,
      ratio: number,
      p99: number,
      statusCodes: Record<string, number>,
    ) => ({
      round,
      variant,
      requestsPerSecond: 1000 * ratio,
      vsBareExpress: ratio,
      vsBarePreset: ratio / 3,
      latencyMs: { p99 },
      statusCodes,
    });
    const goals: Goal[] = judgeGoals({
      credentials: {
        available: true,
        results: [
          run(1, 'bare-express', 1, 25, { 200: 8000 }),
          run(1, 'redis', 0.9, 18, { 200: 7200 }),
          // Half its answers were 429s (the tenants' rate limit): cheap answers, a higher ratio.
          run(2, 'bare-express', 1, 25, { 200: 8000 }),
          run(2, 'redis', 1.6, 12, { 200: 6000, 429: 6800 }),
          run(3, 'bare-express', 1, 25, { 200: 8000 }),
          run(3, 'redis', 1.1, 19, { 200: 8800 }),
          run(1, 'embedded', 1.2, 30, { 200: 9600, 429: 1 }),
        ],
      },
    });
    const find = (subject: string) =>
      goals.find((g) => g.goal.startsWith('POST /v1/ice-servers >=') && g.subject === subject);
    const redis = find('redis') as Goal & { note: string };
    expect(redis).toMatchObject({ ratio: 1, met: true });
    expect(redis.note).toBe('median of 2 rounds; left out (answers other than 200): round 2');
    // Its only run left out: not measured, never met.
    const embedded = find('embedded') as Goal & { note: string };
    expect(embedded).toMatchObject({ met: null, value: null });
    expect(embedded.note).toContain('round 1');
  });
});
