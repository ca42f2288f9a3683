// sampleRelayDrops: the kernel's per-socket drops reach the metric from an asynchronous read, and
// a slow read of the kernel's socket table spaces the samples out (at most 1 % of the time).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DROP_SAMPLE_DUTY, sampleRelayDrops } from '../../../src/composition/relay-buffers.js';
import { createMetrics } from '../../../src/metrics/metrics.js';
import type { ProcUdpTexts, TurnHost } from '../../../src/transport/index.js';

const HEADER =
  '   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops';
const row = (port: number, inode: number, drops: number) =>
  `  1: 0100007F:${port.toString(16).toUpperCase()} 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 ${inode} 2 0000000000000000 ${drops}`;

function host(jsPorts: number[]): TurnHost {
  return { relays: { ports: () => new Set(jsPorts) } } as unknown as TurnHost;
}

async function dropsMetric(metrics: ReturnType<typeof createMetrics>, plane: string): Promise<number> {
  const metric = await metrics.registry.getSingleMetric('icegate_relay_receive_buffer_drops_total')?.get();
  return metric?.values.find((v) => v.labels['plane'] === plane)?.value ?? 0;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('sampleRelayDrops', () => {
  it('adds the drops of relay sockets read asynchronously, each drop once', async () => {
    vi.useFakeTimers();
    const metrics = createMetrics();
    let drops = 7;
    const reads: number[] = [];
    const read = async (): Promise<ProcUdpTexts> => {
      reads.push(Date.now());
      return { IPv4: [HEADER, row(42001, 11, drops), row(9999, 12, 500)].join('\n'), IPv6: null };
    };
    const stop = sampleRelayDrops(host([42001]), metrics, 10_000, read);
    await vi.advanceTimersByTimeAsync(9_999);
    expect(reads).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(reads).toHaveLength(1);
    expect(await dropsMetric(metrics, 'js')).toBe(7);
    drops = 10;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(reads).toHaveLength(2);
    expect(await dropsMetric(metrics, 'js')).toBe(10);
    stop();
  });

  it('spaces samples out when a read takes longer than its share of the period', async () => {
    vi.useFakeTimers();
    const metrics = createMetrics();
    const reads: number[] = [];
    const slowMs = 500;
    const read = async (): Promise<ProcUdpTexts> => {
      reads.push(Date.now());
      await new Promise((r) => setTimeout(r, slowMs));
      return { IPv4: HEADER, IPv6: null };
    };
    const stop = sampleRelayDrops(host([]), metrics, 10_000, read);
    await vi.advanceTimersByTimeAsync(10_000 + slowMs);
    expect(reads).toHaveLength(1);
    // The next read waits slowMs / DROP_SAMPLE_DUTY (50 s), not the 10 s period.
    await vi.advanceTimersByTimeAsync(slowMs / DROP_SAMPLE_DUTY - 1);
    expect(reads).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(reads).toHaveLength(2);
    stop();
  });
});
