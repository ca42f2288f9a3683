// Process resource probes for leak figures: heap after a full collection (when the process runs
// with --expose-gc), RSS, open file descriptors (/proc/self/fd), and active handles by type
// (process.getActiveResourcesInfo(): timers, sockets, ...), plus uncaught-error counting.
import { readdirSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

const MB = 1024 * 1024;

/**
 * The collector: `globalThis.gc` under --expose-gc, otherwise obtained by turning the flag on at
 * run time (a fresh context then sees `gc`), so heap figures in `npm test` are taken after a real
 * full collection too instead of counting garbage that has not been collected yet.
 */
const fullGc: (() => void) | undefined = (() => {
  if (typeof globalThis.gc === 'function') return globalThis.gc;
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    return typeof gc === 'function' ? (gc as () => void) : undefined;
  } catch {
    return undefined;
  }
})();

/** Whether heap figures come after a real full collection. */
export function canCollect(): boolean {
  return fullGc !== undefined;
}

/** Runs a full collection when possible (a few passes, so weak and finalised objects go too). */
export async function collect(): Promise<void> {
  if (!canCollect()) return;
  for (let i = 0; i < 3; i++) {
    fullGc!();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** One snapshot of the process. */
export interface ResourceSnapshot {
  heapUsedMb: number;
  rssMb: number;
  openFds: number;
  /** Active resources by type (Timeout, UDPWRAP, TCPSocketWrap, ...). */
  active: Record<string, number>;
}

/** Takes a snapshot after a collection. */
export async function snapshot(): Promise<ResourceSnapshot> {
  await collect();
  const memory = process.memoryUsage();
  const active: Record<string, number> = {};
  for (const type of process.getActiveResourcesInfo()) active[type] = (active[type] ?? 0) + 1;
  return {
    heapUsedMb: round(memory.heapUsed / MB),
    rssMb: round(memory.rss / MB),
    openFds: openFds(),
    active,
  };
}

/** Open file descriptors of this process. */
export function openFds(): number {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return -1;
  }
}

/** Active resources of `type` in a snapshot. */
export function activeOf(s: ResourceSnapshot, type: string): number {
  return s.active[type] ?? 0;
}

/** Rounds to 0.1. */
export function round(n: number): number {
  return Math.round(n * 10) / 10;
}

/** Counts uncaught exceptions and unhandled rejections while installed. */
export class UncaughtCounter {
  count = 0;
  first: string | null = null;
  readonly #onError = (error: unknown): void => {
    this.count++;
    this.first ??= error instanceof Error ? (error.stack ?? error.message) : String(error);
  };

  install(): this {
    process.on('uncaughtException', this.#onError);
    process.on('unhandledRejection', this.#onError);
    return this;
  }

  uninstall(): void {
    process.off('uncaughtException', this.#onError);
    process.off('unhandledRejection', this.#onError);
  }
}

/** Waits `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
