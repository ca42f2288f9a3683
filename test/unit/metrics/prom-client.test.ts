import * as index from 'prom-client';
import { describe, expect, it } from 'vitest';
import {
  Counter,
  collectDefaultMetrics,
  Gauge,
  Histogram,
  Registry,
} from '../../../src/metrics/prom-client.js';

describe("prom-client's classes from their own modules", () => {
  it('are the very classes the package index exports', () => {
    expect(Registry).toBe(index.Registry);
    expect(Counter).toBe(index.Counter);
    expect(Gauge).toBe(index.Gauge);
    expect(Histogram).toBe(index.Histogram);
    expect(collectDefaultMetrics).toBe(index.collectDefaultMetrics);
  });

  it('work: a counter and the default metrics on a registry of their own', async () => {
    const registry = new Registry();
    const counter = new Counter({ name: 'probe_total', help: 'probe', registers: [registry] });
    counter.inc(2);
    collectDefaultMetrics({ register: registry });
    const text = await registry.metrics();
    expect(text).toContain('probe_total 2');
    expect(text).toContain('process_cpu_seconds_total');
  });
});
