import { describe, expect, it } from 'vitest';
import { portCandidates } from '../../../src/transport/port-candidates.js';

describe('portCandidates', () => {
  it('visits every port of the range once, from a random start', () => {
    const ports = [...portCandidates(100, 109, false, false)];
    expect([...ports].sort((a, b) => a - b)).toEqual([100, 101, 102, 103, 104, 105, 106, 107, 108, 109]);
    const starts = new Set(
      Array.from({ length: 50 }, () => portCandidates(100, 109, false, false).next().value),
    );
    expect(starts.size).toBeGreaterThan(1);
  });

  it('keeps even ports for EVEN-PORT, and leaves room for the pair', () => {
    expect([...portCandidates(101, 110, true, false)].sort((a, b) => a - b)).toEqual([
      102, 104, 106, 108, 110,
    ]);
    expect([...portCandidates(101, 110, true, true)].sort((a, b) => a - b)).toEqual([102, 104, 106, 108]);
    expect([...portCandidates(110, 110, true, true)]).toEqual([]);
  });
});
