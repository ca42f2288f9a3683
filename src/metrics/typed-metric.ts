// Thin typed views over prom-client metrics. prom-client types label values as any string; these
// views take them from the closed sets of ./label-sets.ts, so a call site cannot invent a value
// (and with it a new series) without the compiler noticing.
import { Counter, Gauge, Histogram, type Registry } from './prom-client.js';

/** Label names to the type of their values (each a union of string literals). */
export type LabelShape = Record<string, string>;

/** Label values of one series, each from its closed set. */
export type LabelValuesOf<L> = { readonly [K in keyof L]: L[K] };

/** Closed set of values per label name, used to declare and pre-create every series. */
export type LabelSets<L> = { readonly [K in keyof L]: readonly L[K][] };

/** A counter whose label values come from closed sets. */
export interface LabelledCounter<L extends LabelShape> {
  inc(labels: LabelValuesOf<L>, value?: number): void;
  /** A child bound to one series, for call sites that bump the same series often. */
  labels(labels: LabelValuesOf<L>): { inc(value?: number): void };
  /**
   * A child of one series for a hot path: its increments are summed in a plain number and
   * handed to prom-client whenever the metric is read (a scrape, `get()`), so an event costs
   * one addition instead of prom-client's label check and hashing. Readers see the same values.
   */
  bound(labels: LabelValuesOf<L>): { inc(value?: number): void };
}

/** A gauge whose label values come from closed sets. */
export interface LabelledGauge<L extends LabelShape> {
  inc(labels: LabelValuesOf<L>, value?: number): void;
  dec(labels: LabelValuesOf<L>, value?: number): void;
  set(labels: LabelValuesOf<L>, value: number): void;
  labels(labels: LabelValuesOf<L>): {
    inc(value?: number): void;
    dec(value?: number): void;
    set(value: number): void;
  };
  /**
   * A child of one series for a hot path (see LabelledCounter.bound): its ups and downs are
   * summed locally and applied when the metric is read. Only for series changed by inc and dec
   * alone (a set() on the series would be applied before the pending changes).
   */
  bound(labels: LabelValuesOf<L>): { inc(value?: number): void; dec(value?: number): void };
}

/** A gauge without labels. */
export interface PlainGauge {
  inc(value?: number): void;
  dec(value?: number): void;
  set(value: number): void;
}

/** A histogram whose label values come from closed sets (or, for `route`, the app's route templates). */
export interface LabelledHistogram<L extends LabelShape> {
  observe(labels: LabelValuesOf<L>, value: number): void;
  /** Starts a timer; the returned function observes the elapsed seconds with the merged labels. */
  startTimer(labels?: Partial<LabelValuesOf<L>>): (labels?: Partial<LabelValuesOf<L>>) => number;
}

interface Definition<L extends LabelShape> {
  registry: Registry;
  name: string;
  help: string;
  labels: LabelSets<L>;
}

/** Every combination of the closed label values, so each series exists (at 0) from the start. */
export function labelCombinations<L extends LabelShape>(sets: LabelSets<L>): LabelValuesOf<L>[] {
  let combos: Record<string, string>[] = [{}];
  for (const [name, values] of Object.entries(sets) as [string, readonly string[]][]) {
    combos = combos.flatMap((partial) => values.map((value) => ({ ...partial, [name]: value })));
  }
  return combos as unknown as LabelValuesOf<L>[];
}

function labelNames<L extends LabelShape>(sets: LabelSets<L>): string[] {
  return Object.keys(sets);
}

/**
 * Get-or-create by key: `bind(key)` runs on a key's first use only, and its result is kept. For
 * hot paths that pick one of a few bound series (`bound(...)`) per event: each series is bound
 * once, not per event. Keys are meant to come from closed sets (label values), so the map stays small.
 */
export function seriesByKey<K, S>(bind: (key: K) => S): (key: K) => S {
  const series = new Map<K, S>();
  return (key) => {
    let found = series.get(key);
    if (found === undefined) {
      found = bind(key);
      series.set(key, found);
    }
    return found;
  };
}

/** Changes to one series kept as a number until the metric is read. */
interface PendingSeries {
  readonly labels: Record<string, string>;
  delta: number;
}

/** The bound children of one metric, and what applies their pending changes. */
function boundChildren(apply: (labels: Record<string, string>, delta: number) => void): {
  child(labels: Record<string, string>): PendingSeries;
  flush(): void;
} {
  const children: PendingSeries[] = [];
  return {
    child(labels) {
      const child: PendingSeries = { labels: { ...labels }, delta: 0 };
      children.push(child);
      return child;
    },
    flush() {
      for (const child of children) {
        if (child.delta === 0) continue;
        const delta = child.delta;
        child.delta = 0;
        apply(child.labels, delta);
      }
    },
  };
}

/**
 * A counter with every series pre-created at 0: `rate()` over a series that appears only with
 * its first increment misses that increment, and dashboards show "no data" instead of 0.
 */
export function closedCounter<L extends LabelShape>(def: Definition<L>): LabelledCounter<L> {
  const pending = boundChildren((labels, delta) => counter.inc(labels, delta));
  const counter = new Counter({
    name: def.name,
    help: def.help,
    labelNames: labelNames(def.labels),
    registers: [def.registry],
    collect: () => pending.flush(),
  });
  for (const combo of labelCombinations(def.labels)) counter.inc(combo, 0);
  return Object.assign(counter, {
    bound(labels: LabelValuesOf<L>) {
      const child = pending.child(labels as Record<string, string>);
      return {
        inc(value = 1) {
          if (!(value >= 0)) throw new RangeError('a counter only goes up');
          child.delta += value;
        },
      };
    },
  });
}

/** A gauge with every series pre-created at 0. */
export function closedGauge<L extends LabelShape>(def: Definition<L>): LabelledGauge<L> {
  const pending = boundChildren((labels, delta) => gauge.inc(labels, delta));
  const gauge = new Gauge({
    name: def.name,
    help: def.help,
    labelNames: labelNames(def.labels),
    registers: [def.registry],
    collect: () => pending.flush(),
  });
  for (const combo of labelCombinations(def.labels)) gauge.set(combo, 0);
  return Object.assign(gauge, {
    bound(labels: LabelValuesOf<L>) {
      const child = pending.child(labels as Record<string, string>);
      return {
        inc(value = 1) {
          child.delta += value;
        },
        dec(value = 1) {
          child.delta -= value;
        },
      };
    },
  });
}

/** A gauge without labels, starting at 0. */
export function plainGauge(def: Omit<Definition<never>, 'labels'>): PlainGauge {
  const gauge = new Gauge({ name: def.name, help: def.help, registers: [def.registry] });
  gauge.set(0);
  return gauge;
}

/** A histogram; series whose labels are all closed are pre-created. */
export function labelledHistogram<L extends LabelShape>(
  def: Omit<Definition<L>, 'labels'> & {
    labelNames: readonly (keyof L & string)[];
    buckets: number[];
    preCreate?: LabelSets<L>;
  },
): LabelledHistogram<L> {
  const histogram = new Histogram({
    name: def.name,
    help: def.help,
    labelNames: [...def.labelNames],
    buckets: def.buckets,
    registers: [def.registry],
  });
  if (def.preCreate) for (const combo of labelCombinations(def.preCreate)) histogram.zero(combo);
  return histogram;
}
