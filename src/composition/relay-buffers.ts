// Relay socket buffers (issue 16): a warning at start when the kernel caps TURN_RELAY_SOCKET_BUFFER,
// and icegate_relay_receive_buffer_drops_total, sampled from the kernel's per-socket drop counts.
import type { Logger } from '../log/logger.js';
import type { IcegateMetrics } from '../metrics/metrics.js';
import {
  kernelBufferCaps,
  type ProcReader,
  type ProcUdpTexts,
  RelayDropCounter,
  readProcUdpTexts,
  type TurnHost,
} from '../transport/index.js';

/** Warns when net.core.rmem_max or wmem_max is below the configured buffer (the kernel caps it silently). */
export function warnIfBufferCapped(bytes: number, logger: Logger, read?: ProcReader): boolean {
  const caps = kernelBufferCaps(read);
  if (caps === null || (caps.rmemMax >= bytes && caps.wmemMax >= bytes)) return false;
  logger.warn(
    'the kernel caps relay socket buffers below TURN_RELAY_SOCKET_BUFFER: raise net.core.rmem_max and net.core.wmem_max, or bursts from peers may be dropped',
    { requestedBytes: bytes, rmemMax: caps.rmemMax, wmemMax: caps.wmemMax },
  );
  return true;
}

/**
 * A sample costs at most this share of the time between two samples: when reading
 * /proc/net/udp takes long (tens of thousands of UDP sockets on the host), samples are spaced out.
 */
export const DROP_SAMPLE_DUTY = 0.01;

/**
 * Adds relay sockets' receive-buffer drops to the metric every `periodMs` (longer when a read of
 * the kernel's socket table takes more than DROP_SAMPLE_DUTY of that); returns the stop function,
 * which takes a last sample. The files are read off the main thread (readProcUdpTexts).
 */
export function sampleRelayDrops(
  host: TurnHost,
  metrics: IcegateMetrics,
  periodMs = 10_000,
  readTexts: () => Promise<ProcUdpTexts> = readProcUdpTexts,
): () => void {
  const none = { ports: () => new Set<number>() };
  const counter = new RelayDropCounter({ js: host.relays, native: host.native ?? none });
  const add = (drops: { js: number; native: number }): void => {
    if (drops.js > 0) metrics.relayReceiveBufferDrops.inc({ plane: 'js' }, drops.js);
    if (drops.native > 0) metrics.relayReceiveBufferDrops.inc({ plane: 'native' }, drops.native);
  };
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const schedule = (delayMs: number): void => {
    timer = setTimeout(sample, delayMs);
    timer.unref();
  };
  const sample = (): void => {
    const started = performance.now();
    readTexts().then(
      (texts) => {
        if (stopped) return;
        add(counter.tally(texts));
        const took = performance.now() - started;
        schedule(Math.max(periodMs, took / DROP_SAMPLE_DUTY));
      },
      () => {
        if (!stopped) schedule(periodMs);
      },
    );
  };
  schedule(periodMs);
  return () => {
    stopped = true;
    clearTimeout(timer);
    add(counter.poll());
  };
}
