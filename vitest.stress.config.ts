import { defineConfig } from 'vitest/config';

// `npm run stress`: the long, bounded security and reliability suites of issue 7, one file at a
// time (each measures memory and timing, so they must not share the two cores), each writing its
// figures to stress/results/parts/; the global setup merges them into stress/results/<date>.json,
// a markdown table beside it, and stress/report.md.
export default defineConfig({
  test: {
    include:
      process.env['STRESS_CAPTURE'] === '1' ? ['stress/capture/*.capture.ts'] : ['stress/**/*.stress.ts'],
    testTimeout: 20 * 60_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    maxWorkers: 1,
    globalSetup: process.env['STRESS_CAPTURE'] === '1' ? [] : ['stress/lib/report-setup.ts'],
    reporters: ['default'],
    // Suites pass --expose-gc to their worker so heap figures are taken after a full collection.
    execArgv: ['--expose-gc'],
    pool: 'forks',
  },
});
