import { describe, expect, it } from 'vitest';
import {
  MemoryTrim,
  TRIM_AFTER_FREED_ALLOCATIONS,
  type TrimReason,
} from '../../../src/composition/memory-trim.js';
import { loadNativeDataPlane } from '../../../src/transport/native/index.js';

function recorder(minFreed?: number) {
  const reasons: TrimReason[] = [];
  const trim = new MemoryTrim(() => true, {
    ...(minFreed === undefined ? {} : { minFreed }),
    onTrim: (reason) => reasons.push(reason),
  });
  return { trim, reasons };
}

describe('MemoryTrim', () => {
  it('trims once after start-up', () => {
    const { trim, reasons } = recorder();
    trim.afterStart();
    expect(reasons).toEqual(['started']);
  });

  it('trims when live allocations fall by 1,000 below their peak since the last trim, not before', () => {
    const { trim, reasons } = recorder();
    expect(TRIM_AFTER_FREED_ALLOCATIONS).toBe(1_000);
    for (const live of [0, 500, 2_000, 1_500, 1_001]) trim.sample(live);
    expect(reasons).toEqual([]);
    trim.sample(1_000);
    expect(reasons).toEqual(['allocations_freed']);
    // The peak restarts from the trimmed level: a further fall of less than 1,000 does not trim.
    trim.sample(100);
    expect(reasons).toEqual(['allocations_freed']);
    trim.sample(3_000);
    trim.sample(0);
    expect(reasons).toEqual(['allocations_freed', 'allocations_freed']);
  });

  it('passes on what the trim answered', () => {
    const answers: boolean[] = [];
    new MemoryTrim(() => false, { onTrim: (_reason, released) => answers.push(released) }).afterStart();
    expect(answers).toEqual([false]);
  });
});

describe.skipIf(process.env.ICEGATE_SKIP_NATIVE === '1')('the native addon trimMemory', () => {
  it('runs malloc_trim and says whether pages went back', () => {
    const plane = loadNativeDataPlane();
    expect(plane).not.toBeNull();
    expect(typeof plane!.trimMemory()).toBe('boolean');
  });
});
