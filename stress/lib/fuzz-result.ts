// What every fuzz target reports, and the loop that runs one while keeping count.
import { type ResourceSnapshot, round, snapshot, UncaughtCounter } from './resources.js';

/** Figures of one fuzz target. */
export interface FuzzResult {
  target: string;
  inputs: number;
  /** Exceptions thrown out of the function under test (must be 0). */
  exceptions: number;
  firstException: string | null;
  /** Uncaught exceptions and unhandled rejections during the run (must be 0). */
  uncaught: number;
  /** Invariant violations found by the target's oracle (must be 0). */
  violations: number;
  firstViolation: string | null;
  durationMs: number;
  inputsPerSecond: number;
  /** Heap (after gc when available) once warmed up, and at the end. */
  heapWarmMb: number;
  heapEndMb: number;
  heapGrowthMb: number;
  rssWarmMb: number;
  rssEndMb: number;
  /** Whether heap figures follow a full collection (--expose-gc). */
  gcExact: boolean;
  /** Outcome counts (decode results, drop reasons, answers...). */
  outcomes: Record<string, number>;
  /** Mutation operator counts. */
  mutations?: Record<string, number>;
  /** Anything else worth reporting. */
  notes?: string[];
}

const METHOD_NAMES: Record<number, string> = {
  1: 'Binding',
  3: 'Allocate',
  4: 'Refresh',
  8: 'CreatePermission',
  9: 'ChannelBind',
};

/** "Allocate 401" for an answer counter, whatever the method. */
export function answerName(method: number, code: number): string {
  return `${METHOD_NAMES[method] ?? `method 0x${method.toString(16)}`} ${code}`;
}

/** A running tally a target fills. */
export class FuzzTally {
  exceptions = 0;
  firstException: string | null = null;
  violations = 0;
  firstViolation: string | null = null;
  readonly outcomes: Record<string, number> = {};

  outcome(name: string): void {
    this.outcomes[name] = (this.outcomes[name] ?? 0) + 1;
  }

  exception(error: unknown, input: Buffer): void {
    this.exceptions++;
    this.firstException ??= `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\ninput: ${input.toString('hex')}`;
  }

  violation(text: string): void {
    this.violations++;
    this.firstViolation ??= text;
  }
}

/**
 * Runs `step(i)` for i in [0, inputs), `batch` at a time, yielding to the event loop between
 * batches (so sockets and timers run), with a heap snapshot after the first tenth (warm) and at
 * the end. `step` returns the number of inputs it consumed (default 1).
 */
export async function runFuzz(
  target: string,
  inputs: number,
  tally: FuzzTally,
  step: (i: number) => unknown,
  options: { batch?: number; settle?: () => Promise<void> } = {},
): Promise<FuzzResult> {
  const uncaught = new UncaughtCounter().install();
  const batch = options.batch ?? 2000;
  const warmAt = Math.floor(inputs / 10);
  let warm: ResourceSnapshot | null = null;
  const started = performance.now();
  let done = 0;
  let nextYield = batch;
  try {
    while (done < inputs) {
      if (warm === null && done >= warmAt) {
        await options.settle?.();
        warm = await snapshot();
      }
      const consumed = await step(done);
      done += typeof consumed === 'number' ? consumed : 1;
      if (done >= nextYield) {
        nextYield = done + batch;
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    await options.settle?.();
  } finally {
    uncaught.uninstall();
  }
  const durationMs = performance.now() - started;
  const end = await snapshot();
  warm ??= end;
  return {
    target,
    inputs: done,
    exceptions: tally.exceptions,
    firstException: tally.firstException,
    uncaught: uncaught.count,
    violations: tally.violations,
    firstViolation: tally.firstViolation ?? uncaught.first,
    durationMs: Math.round(durationMs),
    inputsPerSecond: Math.round((done / durationMs) * 1000),
    heapWarmMb: warm.heapUsedMb,
    heapEndMb: end.heapUsedMb,
    heapGrowthMb: round(end.heapUsedMb - warm.heapUsedMb),
    rssWarmMb: warm.rssMb,
    rssEndMb: end.rssMb,
    gcExact: typeof globalThis.gc === 'function',
    outcomes: tally.outcomes,
  };
}
