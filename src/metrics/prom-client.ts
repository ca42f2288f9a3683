// prom-client's classes from their own modules, not from the package's index. The index also
// loads the cluster aggregator, which at load requires Node's `cluster` (and with it
// child_process and the cluster internals), the Pushgateway (https) and Summary (tdigest): about
// 0.7 MiB of V8 heap and 40 Node built-in modules that icegate never uses, resident in every node
// (memory at rest, issue 19). They are the same modules the index exports (instanceof holds
// across both), typed from the package's own declarations.
import { createRequire } from 'node:module';
import type * as PromClient from 'prom-client';

const load = createRequire(import.meta.url);

export const Registry: typeof PromClient.Registry = load('prom-client/lib/registry');
export type Registry = PromClient.Registry;
export const Counter: typeof PromClient.Counter = load('prom-client/lib/counter');
export type Counter<T extends string = string> = PromClient.Counter<T>;
export const Gauge: typeof PromClient.Gauge = load('prom-client/lib/gauge');
export type Gauge<T extends string = string> = PromClient.Gauge<T>;
export const Histogram: typeof PromClient.Histogram = load('prom-client/lib/histogram');
export type Histogram<T extends string = string> = PromClient.Histogram<T>;
export const collectDefaultMetrics: typeof PromClient.collectDefaultMetrics = load(
  'prom-client/lib/defaultMetrics',
);
