// How many of the native plane's data threads clients are steered to, from how busy they are.
//
// A data thread that handles one packet per wake-up pays a context switch for each, and on a
// lightly loaded server two threads each wake for their share of a burst that one thread would
// read in one wake-up. Measured here (bench, paced load of 2,500 messages/s): coturn 4.6.1 costs
// about 12 µs of CPU per relayed packet with its default two relay threads and about 9 µs with
// one; icegate's data threads behave the same. So the plane starts with one active thread and
// adds threads only when the active ones are busy, up to one per core (ICEGATE_NATIVE_THREADS),
// and gives them back when the load has stayed low for a while.

/** When to add or remove an active thread. */
export interface ThreadScalingPolicy {
  /** Add a thread when the busiest active one used more than this share of a core. */
  readonly upBusy: number;
  /**
   * Remove a thread when all active threads together used less than this share of a core per
   * thread that would remain, for `calmSamples` samples in a row.
   */
  readonly downBusy: number;
  readonly calmSamples: number;
  /** Samples to wait after a change before the next (the new layout's figures first). */
  readonly holdSamples: number;
}

export const DEFAULT_SCALING_POLICY: ThreadScalingPolicy = {
  upBusy: 0.5,
  downBusy: 0.25,
  calmSamples: 10,
  holdSamples: 5,
};

/** The scaler's memory between samples. */
export interface ScalerState {
  readonly active: number;
  readonly max: number;
  /** Consecutive samples that were calm enough to remove a thread. */
  readonly calm: number;
  /** Samples left before another change is allowed. */
  readonly hold: number;
}

/**
 * The next state from one sample: `busy[i]` is the share of a core active thread i used since the
 * previous sample (0..1). Pure, so the policy is tested on its own.
 */
export function nextScalerState(
  state: ScalerState,
  busy: readonly number[],
  policy: ThreadScalingPolicy = DEFAULT_SCALING_POLICY,
): ScalerState {
  if (state.hold > 0) return { ...state, calm: 0, hold: state.hold - 1 };
  const active = busy.slice(0, state.active);
  const busiest = Math.max(0, ...active);
  const total = active.reduce((sum, b) => sum + b, 0);
  if (busiest > policy.upBusy && state.active < state.max) {
    return { ...state, active: state.active + 1, calm: 0, hold: policy.holdSamples };
  }
  if (state.active > 1 && total < policy.downBusy * (state.active - 1)) {
    const calm = state.calm + 1;
    if (calm >= policy.calmSamples) {
      return { ...state, active: state.active - 1, calm: 0, hold: policy.holdSamples };
    }
    return { ...state, calm };
  }
  return { ...state, calm: 0 };
}

/** What the scaler reads and sets: a NativeRelayPlane. */
export interface ScalablePlane {
  info(): { threads: number; active: number; workers: readonly { cpuSeconds: number }[] };
  setActiveThreads(active: number): number;
}

/** Samples the plane's data threads every `intervalMs` and sets the active count. */
export class ThreadScaler {
  readonly #plane: ScalablePlane;
  readonly #policy: ThreadScalingPolicy;
  readonly #onChange: ((active: number, moved: number) => void) | undefined;
  readonly #onError: ((error: unknown) => void) | undefined;
  #state: ScalerState;
  #lastCpu: number[];
  #lastAt: number;
  #timer: NodeJS.Timeout | null = null;

  constructor(
    plane: ScalablePlane,
    options: {
      policy?: ThreadScalingPolicy;
      onChange?: (active: number, moved: number) => void;
      /** A sample that failed (the plane refused); the layout stays as it was. Must not throw. */
      onError?: (error: unknown) => void;
    } = {},
  ) {
    this.#plane = plane;
    this.#policy = options.policy ?? DEFAULT_SCALING_POLICY;
    this.#onChange = options.onChange;
    this.#onError = options.onError;
    const info = plane.info();
    // Start small: with no clients yet, nothing moves.
    if (info.active !== 1) plane.setActiveThreads(1);
    this.#state = { active: 1, max: info.threads, calm: 0, hold: 0 };
    this.#lastCpu = info.workers.map((w) => w.cpuSeconds);
    this.#lastAt = performance.now();
  }

  get active(): number {
    return this.#state.active;
  }

  /** Samples every `intervalMs` (unref'd: it never keeps the process alive). */
  start(intervalMs = 1000): this {
    if (this.#timer === null && this.#state.max > 1) {
      this.#timer = setInterval(() => {
        try {
          this.sample();
        } catch (error) {
          this.#onError?.(error);
        }
      }, intervalMs);
      this.#timer.unref();
    }
    return this;
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** One sample: reads each thread's CPU clock, applies the policy, moves relays if it changed. */
  sample(): void {
    const info = this.#plane.info();
    const now = performance.now();
    const seconds = (now - this.#lastAt) / 1000;
    const cpu = info.workers.map((w) => w.cpuSeconds);
    const busy = cpu.map((c, i) => (seconds > 0 ? Math.max(0, c - (this.#lastCpu[i] ?? c)) / seconds : 0));
    this.#lastCpu = cpu;
    this.#lastAt = now;
    const next = nextScalerState(this.#state, busy, this.#policy);
    if (next.active !== this.#state.active) {
      const moved = this.#plane.setActiveThreads(next.active);
      this.#onChange?.(next.active, moved);
    }
    this.#state = next;
  }
}
