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
});
