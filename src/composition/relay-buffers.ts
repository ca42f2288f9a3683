// Relay socket buffers (issue 16): a warning at start when the kernel caps TURN_RELAY_SOCKET_BUFFER,
// and icegate_relay_receive_buffer_drops_total, sampled from the kernel's per-socket drop counts.
import type { Logger } from '../log/logger.js';
import type { IcegateMetrics } from '../metrics/metrics.js';
import { kernelBufferCaps, type ProcReader, RelayDropCounter, type TurnHost } from '../transport/index.js';

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

/** Adds relay sockets' receive-buffer drops to the metric every `periodMs`; returns the stop function. */
export function sampleRelayDrops(host: TurnHost, metrics: IcegateMetrics, periodMs = 10_000): () => void {
  const none = { ports: () => new Set<number>() };
  const counter = new RelayDropCounter({ js: host.relays, native: host.native ?? none });
  const sample = (): void => {
    const drops = counter.poll();
    if (drops.js > 0) metrics.relayReceiveBufferDrops.inc({ plane: 'js' }, drops.js);
    if (drops.native > 0) metrics.relayReceiveBufferDrops.inc({ plane: 'native' }, drops.native);
  };
  const timer = setInterval(sample, periodMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    sample();
  };
}
