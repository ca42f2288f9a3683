import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UsageLedger } from '../../../src/usage/index.js';

describe('UsageLedger', () => {
  it('takes whole counters sorted by day then tenant and empties itself', () => {
    const ledger = new UsageLedger();
    ledger.addBytes('2026-11-25', 'zeta', 10);
    ledger.addBytes('2026-11-24', 'beta', 5);
    ledger.addSeconds('2026-11-24', 'alpha', 3);
    ledger.addBytes('2026-11-24', 'beta', 7);
    expect(ledger.take()).toEqual([
      { tenant: 'alpha', day: '2026-11-24', bytesRelayed: 0, allocationSeconds: 3 },
      { tenant: 'beta', day: '2026-11-24', bytesRelayed: 12, allocationSeconds: 0 },
      { tenant: 'zeta', day: '2026-11-25', bytesRelayed: 10, allocationSeconds: 0 },
    ]);
    expect(ledger.empty).toBe(true);
    expect(ledger.take()).toEqual([]);
  });

  it('keeps fractions of a second until they add up', () => {
    const ledger = new UsageLedger();
    ledger.addSeconds('2026-11-24', 't', 0.6);
    expect(ledger.take()).toEqual([]);
    expect(ledger.empty).toBe(false);
    ledger.addSeconds('2026-11-24', 't', 0.6);
    expect(ledger.take()).toEqual([
      { tenant: 't', day: '2026-11-24', bytesRelayed: 0, allocationSeconds: 1 },
    ]);
    // 0.2 left over; ten tenths make exactly one more second despite floating point.
    for (let i = 0; i < 8; i++) ledger.addSeconds('2026-11-24', 't', 0.1);
    expect(ledger.take()).toEqual([
      { tenant: 't', day: '2026-11-24', bytesRelayed: 0, allocationSeconds: 1 },
    ]);
    expect(ledger.empty).toBe(true);
  });

  it('rounds and forgets days before closeBefore, and every day when final', () => {
    const ledger = new UsageLedger();
    ledger.addSeconds('2026-11-23', 't', 2.6);
    ledger.addSeconds('2026-11-24', 't', 2.6);
    expect(ledger.take({ closeBefore: '2026-11-24' })).toEqual([
      { tenant: 't', day: '2026-11-23', bytesRelayed: 0, allocationSeconds: 3 },
      { tenant: 't', day: '2026-11-24', bytesRelayed: 0, allocationSeconds: 2 },
    ]);
    expect(ledger.empty).toBe(false);
    expect(ledger.take({ final: true })).toEqual([
      { tenant: 't', day: '2026-11-24', bytesRelayed: 0, allocationSeconds: 1 },
    ]);
    expect(ledger.empty).toBe(true);
  });

  it('gets back what a failed write took', () => {
    const ledger = new UsageLedger();
    ledger.addBytes('2026-11-24', 't', 100);
    ledger.addSeconds('2026-11-24', 't', 5.5);
    const rows = ledger.take();
    ledger.addBytes('2026-11-24', 't', 1);
    ledger.restore(rows);
    expect(ledger.take({ final: true })).toEqual([
      { tenant: 't', day: '2026-11-24', bytesRelayed: 101, allocationSeconds: 6 },
    ]);
  });

  it('over any sequence of adds and takes, hands out every byte once and whole seconds within 1', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('bytes' as const), n: fc.integer({ min: 0, max: 10_000 }) }),
      fc.record({ kind: fc.constant('seconds' as const), n: fc.double({ min: 0, max: 100, noNaN: true }) }),
      fc.record({ kind: fc.constant('take' as const), n: fc.constant(0) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const ledger = new UsageLedger();
        let bytes = 0;
        let seconds = 0;
        let takenBytes = 0;
        let takenSeconds = 0;
        for (const o of ops) {
          if (o.kind === 'bytes') {
            ledger.addBytes('2026-11-24', 't', o.n);
            bytes += o.n;
          } else if (o.kind === 'seconds') {
            ledger.addSeconds('2026-11-24', 't', o.n);
            seconds += o.n;
          } else {
            for (const row of ledger.take()) {
              takenBytes += row.bytesRelayed;
              takenSeconds += row.allocationSeconds;
            }
            expect(takenSeconds).toBeLessThanOrEqual(seconds + 1e-6);
          }
        }
        for (const row of ledger.take({ final: true })) {
          takenBytes += row.bytesRelayed;
          takenSeconds += row.allocationSeconds;
        }
        expect(takenBytes).toBe(bytes);
        expect(Math.abs(takenSeconds - seconds)).toBeLessThanOrEqual(0.5 + 1e-6);
      }),
      { numRuns: 200 },
    );
  });
});
