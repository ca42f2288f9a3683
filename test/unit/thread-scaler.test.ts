// The policy that picks how many native data threads clients use (src/transport/native/thread-scaler.ts).
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_SCALING_POLICY,
  nextScalerState,
  type ScalerState,
} from '../../src/transport/native/thread-scaler.js';

const start: ScalerState = { active: 1, max: 4, calm: 0, hold: 0 };

/** Applies `samples` in order; returns the active count after each. */
function run(state: ScalerState, samples: number[][]): number[] {
  const out: number[] = [];
  let s = state;
  for (const busy of samples) {
    s = nextScalerState(s, busy);
    out.push(s.active);
  }
  return out;
}

describe('nextScalerState', () => {
  it('stays at one thread under a light load', () => {
    expect(
      run(
        start,
        Array.from({ length: 30 }, () => [0.08, 0, 0, 0]),
      ),
    ).toEqual(new Array(30).fill(1));
  });

  it('adds a thread when the busiest active one is over half a core, then holds before the next', () => {
    const busy = [0.9, 0.9, 0.9, 0.9];
    const steps = run(
      start,
      Array.from({ length: 14 }, () => busy),
    );
    // +1 at once, then 5 samples of hold, +1, hold, +1 = 4 (the maximum), and no further.
    expect(steps).toEqual([2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 4, 4]);
  });

  it('only looks at the active threads (a sleeping thread is not busy)', () => {
    expect(nextScalerState(start, [0.1, 0.99, 0.99, 0.99]).active).toBe(1);
  });

  it('removes a thread only after calmSamples calm samples in a row', () => {
    const two: ScalerState = { active: 2, max: 2, calm: 0, hold: 0 };
    const calm = [0.05, 0.05];
    const steps = run(two, [
      ...Array.from({ length: DEFAULT_SCALING_POLICY.calmSamples - 1 }, () => calm),
      [0.2, 0.1], // not calm: 0.3 of a core would not fit under 0.25 in one thread
      ...Array.from({ length: DEFAULT_SCALING_POLICY.calmSamples }, () => calm),
    ]);
    expect(steps.slice(0, -1).every((a) => a === 2)).toBe(true);
    expect(steps.at(-1)).toBe(1);
  });

  it('never goes below one or above max', () => {
    expect(nextScalerState({ active: 1, max: 1, calm: 0, hold: 0 }, [1]).active).toBe(1);
    let s: ScalerState = { active: 1, max: 2, calm: 0, hold: 0 };
    for (let i = 0; i < 50; i += 1) s = nextScalerState(s, [0, 0]);
    expect(s.active).toBe(1);
  });

  it('does not flap: a change is followed by holdSamples samples without one', () => {
    const s = nextScalerState(start, [0.9, 0, 0, 0]);
    expect(s).toMatchObject({ active: 2, hold: DEFAULT_SCALING_POLICY.holdSamples });
    // Idle right after: still 2 during the hold.
    expect(
      run(
        s,
        Array.from({ length: DEFAULT_SCALING_POLICY.holdSamples }, () => [0, 0, 0, 0]),
      ),
    ).toEqual(new Array(DEFAULT_SCALING_POLICY.holdSamples).fill(2));
  });
});
