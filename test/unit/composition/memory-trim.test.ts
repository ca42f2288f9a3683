import { describe, expect, it } from 'vitest';
import {
  MemoryTrim,
  TRIM_AFTER_FREED_ALLOCATIONS,
  type TrimReason,
} from '../../../src/composition/memory-trim.js';
import { loadNativeDataPlane } from '../../../src/transport/native/index.js';
import { IDLE_AGING_COLLECTIONS } from '../../../src/transport/native/native-data-plane.js';

function recorder(minFreed?: number) {
  const reasons: TrimReason[] = [];
  const trim = new MemoryTrim(() => true, {
    ...(minFreed === undefined ? {} : { minFreed }),
    onTrim: (reason) => reasons.push(reason),
  });
  return { trim, reasons };
}

/** A MemoryTrim whose trim and V8 collection each record a step. */
function stepRecorder() {
  const steps: string[] = [];
  const trim = new MemoryTrim(
    () => {
      steps.push('trim');
      return true;
    },
    {
      collectGarbage: async () => {
        steps.push('collect');
      },
    },
  );
  return { trim, steps };
}

describe('MemoryTrim', () => {
  it('trims once after start-up', async () => {
    const { trim, reasons } = recorder();
    await trim.afterStart(0);
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

  it('collects the V8 heap once, before the trim after start-up, and not on later trims', async () => {
    const steps: string[] = [];
    const trim = new MemoryTrim(
      () => {
        steps.push('trim');
        return true;
      },
      {
        minFreed: 10,
        collectGarbage: async () => {
          steps.push('collect');
          await new Promise((resolve) => setImmediate(resolve));
          steps.push('collected');
        },
      },
    );
    await trim.afterStart(0);
    expect(steps).toEqual(['collect', 'collected', 'trim']);
    trim.sample(20);
    trim.sample(0);
    expect(steps).toEqual(['collect', 'collected', 'trim', 'trim']);
  });

  it('on a node in service when start-up settles (allocations created): trims only, and never collects later', async () => {
    const { trim, steps } = stepRecorder();
    await trim.afterStart(3);
    expect(steps).toEqual(['trim']);
    // Asking again, idle samples, a later idle afterStart: no collection, no second trim.
    await trim.afterStart(0);
    for (const live of [0, 2, 0]) trim.sample(live);
    await new Promise((resolve) => setImmediate(resolve));
    expect(steps).toEqual(['trim']);
  });

  it('collects nothing before start-up has settled, even when samples find the node idle', async () => {
    const { trim, steps } = stepRecorder();
    for (const live of [0, 0, 0]) trim.sample(live);
    await new Promise((resolve) => setImmediate(resolve));
    expect(steps).toEqual([]);
  });

  it('passes on what the trim answered', async () => {
    const answers: boolean[] = [];
    await new MemoryTrim(() => false, { onTrim: (_reason, released) => answers.push(released) }).afterStart(
      0,
    );
    expect(answers).toEqual([false]);
  });
});

describe.skipIf(process.env.ICEGATE_SKIP_NATIVE === '1')('the native addon trimMemory', () => {
  it('runs malloc_trim and says whether pages went back', () => {
    const plane = loadNativeDataPlane();
    expect(plane).not.toBeNull();
    expect(typeof plane!.trimMemory()).toBe('boolean');
  });

  it('collectIdleGarbage collects the V8 heap: garbage is gone after it', async () => {
    const plane = loadNativeDataPlane();
    expect(plane).not.toBeNull();
    const held = new WeakRef(Array.from({ length: 2_000 }, (_, i) => Array.from({ length: 500 }, () => i)));
    // A WeakRef's target stays alive until the end of the job that created or read it.
    await new Promise((resolve) => setTimeout(resolve, 0));
    await plane!.collectIdleGarbage();
    expect(held.deref()).toBeUndefined();
  });

  it('collectIdleGarbage runs its collections in separate turns of the event loop', async () => {
    const plane = loadNativeDataPlane();
    expect(plane).not.toBeNull();
    let turns = 0;
    let counting = true;
    const count = () => {
      turns++;
      if (counting) setImmediate(count);
    };
    setImmediate(count);
    await plane!.collectIdleGarbage();
    counting = false;
    expect(turns).toBeGreaterThanOrEqual(IDLE_AGING_COLLECTIONS);
  });
});
