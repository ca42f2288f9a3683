import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { entitlementAt, nextChangeAt, timelineKnownAt } from '../../../src/entitlement/rules/entitlement.js';
import {
  addDays,
  compareJstDates,
  endOfJstDay,
  jstDateOf,
  oneYearFrom,
  startOfJstDay,
} from '../../../src/entitlement/rules/jst-date.js';
import { computeTimeline } from '../../../src/entitlement/rules/timeline.js';
import type { Order, OrderHistory, OrderKind, SupportPeriod } from '../../../src/entitlement/types.js';

const FROM = Date.parse('2024-01-01T00:00:00Z');
const DAY_MS = 86_400_000;
const OFFSETS: [string, number][] = [
  ['Z', 0],
  ['+09:00', 540],
  ['-05:00', -300],
  ['+05:30', 330],
];

/** An ISO instant written in one of several offsets, so receipt dates exercise the JST conversion. */
function isoIn(ms: number, [suffix, minutes]: [string, number]): string {
  return `${new Date(ms + minutes * 60_000).toISOString().slice(0, 23)}${suffix}`;
}

const kind = fc.constantFrom<OrderKind>(
  'initial',
  'renewal',
  'renewal',
  'recontinuation',
  'additional',
  'additional',
);

// Orders follow each other by 0..500 days, so renewals land inside, just after, and long after
// a period; a certificate is placed around the receipt date.
const orderStep = fc.record({
  gapMs: fc.integer({ min: 0, max: 500 * DAY_MS }),
  offset: fc.constantFrom(...OFFSETS),
  kind,
  licenses: fc.integer({ min: 1, max: 100 }),
  cert: fc.option(
    fc.record({ shift: fc.integer({ min: -40, max: 60 }), length: fc.integer({ min: 0, max: 800 }) }),
    { freq: 3 },
  ),
});

type OrderStep = typeof orderStep extends fc.Arbitrary<infer T> ? T : never;

function historyFrom(firstMs: number, steps: OrderStep[], certified: boolean): OrderHistory {
  let ms = firstMs;
  const orders: Order[] = steps.map((step, i) => {
    ms += step.gapMs;
    const receivedAt = isoIn(ms, step.offset);
    const o: Order = {
      id: `o-${i}`,
      kind: i === 0 && step.licenses % 5 !== 0 ? 'initial' : step.kind,
      receivedAt,
      licenses: step.licenses,
    };
    if (certified && step.cert) {
      const start = addDays(jstDateOf(new Date(ms)), step.cert.shift);
      o.certificate = { start, end: addDays(start, step.cert.length) };
    }
    return o;
  });
  return { tenant: 'acme', orders };
}

const firstMs = fc.integer({ min: FROM, max: FROM + 2 * 366 * DAY_MS });
// Usually starts with an initial order (see historyFrom) so that later kinds get accepted.
const plainHistory = fc
  .tuple(firstMs, fc.array(orderStep, { maxLength: 8 }))
  .map(([first, steps]) => historyFrom(first, steps, false));
const certifiedHistory = fc
  .tuple(firstMs, fc.array(orderStep, { maxLength: 8 }))
  .map(([first, steps]) => historyFrom(first, steps, true));

/** Instants to evaluate: anywhere, or right at (and 1 ms around) a period or grace boundary. */
function instantsFor(h: OrderHistory, graceDays: number): fc.Arbitrary<number> {
  const edges: number[] = h.orders.map((o) => Date.parse(o.receivedAt));
  for (const p of computeTimeline(h).periods) {
    edges.push(
      startOfJstDay(p.serviceFrom).getTime(),
      endOfJstDay(p.end).getTime(),
      endOfJstDay(addDays(p.end, graceDays)).getTime(),
    );
  }
  const anywhere = fc.integer({ min: FROM, max: FROM + 10 * 366 * DAY_MS });
  if (edges.length === 0) return anywhere;
  const nearEdge = fc.tuple(fc.constantFrom(...edges), fc.constantFrom(-1, 0, 1)).map(([t, d]) => t + d);
  return fc.oneof(anywhere, nearEdge);
}

const withInstant = (arb: fc.Arbitrary<OrderHistory>, graceDays: fc.Arbitrary<number>) =>
  fc
    .tuple(arb, graceDays)
    .chain(([h, g]) => instantsFor(h, g).map((ms) => ({ h, graceDays: g, at: new Date(ms) })));

const base = (periods: SupportPeriod[]) => periods.filter((p) => p.kind !== 'additional');
const covers = (p: SupportPeriod, d: string) =>
  compareJstDates(p.serviceFrom, d) <= 0 && compareJstDates(d, p.end) <= 0;

describe('support-period properties', () => {
  it('base periods of one tenant never overlap, in access windows or in base years', () => {
    fc.assert(
      fc.property(plainHistory, (h) => {
        const periods = base(computeTimeline(h).periods).sort((a, b) =>
          compareJstDates(a.serviceFrom, b.serviceFrom),
        );
        for (let i = 1; i < periods.length; i++) {
          expect(compareJstDates(periods[i]!.serviceFrom, periods[i - 1]!.end)).toBeGreaterThan(0);
          expect(compareJstDates(periods[i]!.start, periods[i - 1]!.end)).toBeGreaterThan(0);
        }
      }),
    );
  });

  it('every accepted non-additional order without a certificate yields exactly one year', () => {
    fc.assert(
      fc.property(plainHistory, (h) => {
        for (const p of base(computeTimeline(h).periods)) {
          expect(p.end).toBe(oneYearFrom(p.start));
          expect(compareJstDates(p.serviceFrom, p.start)).toBeLessThanOrEqual(0);
          expect(p.start.endsWith('-01') || p.kind === 'renewal').toBe(true);
        }
      }),
    );
  });

  it('additional periods lie within a base period and end with it', () => {
    fc.assert(
      fc.property(plainHistory, (h) => {
        const { periods } = computeTimeline(h);
        for (const a of periods.filter((p) => p.kind === 'additional')) {
          expect(base(periods).some((b) => covers(b, a.serviceFrom) && b.end === a.end)).toBe(true);
        }
      }),
    );
  });

  it('every order is either accepted or rejected, once, whatever the file order', () => {
    const withPermutation = certifiedHistory.chain((h) =>
      fc
        .shuffledSubarray(h.orders, { minLength: h.orders.length, maxLength: h.orders.length })
        .map((orders) => [h, orders] as const),
    );
    fc.assert(
      fc.property(withPermutation, ([h, shuffled]) => {
        const t = computeTimeline(h);
        const ids = [...t.periods.map((p) => p.order), ...t.rejected.map((r) => r.order)].sort();
        expect(ids).toEqual(h.orders.map((o) => o.id).sort());
        expect(computeTimeline({ ...h, orders: shuffled })).toEqual(t);
      }),
    );
  });

  it('entitlementAt is active exactly when a known base window covers the instant (no grace)', () => {
    fc.assert(
      fc.property(withInstant(certifiedHistory, fc.constant(0)), ({ h, at }) => {
        const e = entitlementAt(h, at);
        const day = jstDateOf(at);
        const covered = base(timelineKnownAt(h, at).periods).some((p) => covers(p, day));
        expect(e.active).toBe(covered);
        expect(e.state === 'active').toBe(covered);
        if (!e.active) expect([e.licenses, e.until]).toEqual([0, null]);
        else expect(compareJstDates(e.until!, day)).toBeGreaterThanOrEqual(0);
      }),
    );
  });

  it('grace is only ever reported within the grace days after a known end', () => {
    fc.assert(
      fc.property(withInstant(plainHistory, fc.integer({ min: 1, max: 60 })), ({ h, at, graceDays }) => {
        const e = entitlementAt(h, at, { graceDays });
        if (e.state !== 'grace') return;
        const day = jstDateOf(at);
        const periods = base(timelineKnownAt(h, at).periods);
        expect(periods.some((p) => covers(p, day))).toBe(false);
        expect(
          periods.some(
            (p) => compareJstDates(p.end, day) < 0 && compareJstDates(day, addDays(p.end, graceDays)) <= 0,
          ),
        ).toBe(true);
        expect(e.active).toBe(true);
      }),
    );
  });

  it('the answer does not change before nextChangeAt', () => {
    fc.assert(
      fc.property(
        withInstant(certifiedHistory, fc.integer({ min: 0, max: 10 })),
        fc.double({ min: 0, max: 1, noNaN: true }),
        ({ h, at, graceDays }, fraction) => {
          const ms = at.getTime();
          const now = entitlementAt(h, at, { graceDays });
          const next = nextChangeAt(h, at, { graceDays });
          if (next === null) {
            expect(entitlementAt(h, new Date(ms + 5 * 366 * 86_400_000), { graceDays })).toEqual(now);
            return;
          }
          expect(next.getTime()).toBeGreaterThan(ms);
          const lastSame = next.getTime() - 1;
          const between = ms + Math.floor((lastSame - ms) * fraction);
          expect(entitlementAt(h, new Date(lastSame), { graceDays })).toEqual(now);
          expect(entitlementAt(h, new Date(between), { graceDays })).toEqual(now);
        },
      ),
    );
  });
});
