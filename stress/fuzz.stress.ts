// Long fuzz run (issue 7): at least 1,000,000 inputs per target (STRESS_FUZZ_INPUTS overrides),
// 0 exceptions, 0 uncaught errors, 0 broken invariants, heap flat after warm-up.
import { describe, expect, it } from 'vitest';
import { fuzzDecodeChannelData, fuzzDecodeMessage, fuzzStreamDeframer } from './lib/fuzz-codec.js';
import { fuzzTurnCore } from './lib/fuzz-core.js';
import { fuzzStreamListeners, fuzzUdpListener } from './lib/fuzz-listener.js';
import { fuzzClean, fuzzMarkdown } from './lib/fuzz-report.js';
import type { FuzzResult } from './lib/fuzz-result.js';
import { writePart } from './lib/report.js';
import { STRESS_PORTS } from './lib/stress-ports.js';

const INPUTS = Number(process.env['STRESS_FUZZ_INPUTS'] ?? 1_000_000);
/** Heap growth allowed after warm-up: the bounded caches (transactions, tuples, verdicts) fill during the run. */
const HEAP_GROWTH_MB = 24;

describe('fuzzing, long run', () => {
  const results: FuzzResult[] = [];

  it.each([
    ['decodeMessage', () => fuzzDecodeMessage({ inputs: INPUTS })],
    ['decodeChannelData', () => fuzzDecodeChannelData({ inputs: INPUTS })],
    ['StreamDeframer', () => fuzzStreamDeframer({ inputs: INPUTS })],
    ['TurnServer', () => fuzzTurnCore({ inputs: INPUTS })],
    ['UDP listener', () => fuzzUdpListener({ inputs: INPUTS, ports: STRESS_PORTS.fuzz })],
    ['TCP/TLS listeners', () => fuzzStreamListeners({ inputs: INPUTS, ports: STRESS_PORTS.fuzz })],
  ] as const)('%s', async (_name, run) => {
    const outcome = await run();
    for (const result of Array.isArray(outcome) ? outcome : [outcome]) {
      results.push(result);
      expect(result.inputs).toBeGreaterThanOrEqual(INPUTS);
      expect(result.firstException).toBeNull();
      expect(result.firstViolation).toBeNull();
      expect(result.uncaught).toBe(0);
      if (result.gcExact) expect(result.heapGrowthMb).toBeLessThan(HEAP_GROWTH_MB);
    }
  });

  it('writes the report part', () => {
    writePart({
      id: 'fuzz',
      title: 'Fuzzing',
      order: 1,
      passed: results.length > 0 && results.every(fuzzClean),
      markdown: fuzzMarkdown(results),
      data: results,
    });
  });
});
