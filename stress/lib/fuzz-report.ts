// The fuzz section of the stress report.
import type { FuzzResult } from './fuzz-result.js';
import { table, thousands } from './report.js';

/** Whether a fuzz result is clean: no exception, no uncaught error, no broken invariant. */
export function fuzzClean(result: FuzzResult): boolean {
  return result.exceptions === 0 && result.uncaught === 0 && result.violations === 0;
}

/** Markdown: one row per target, then the notable outcomes of each. */
export function fuzzMarkdown(results: readonly FuzzResult[]): string {
  const rows = results.map((r) => [
    r.target,
    thousands(r.inputs),
    r.exceptions,
    r.uncaught,
    r.violations,
    thousands(r.inputsPerSecond),
    `${r.heapWarmMb} → ${r.heapEndMb} (${r.heapGrowthMb >= 0 ? '+' : ''}${r.heapGrowthMb})`,
    `${r.rssWarmMb} → ${r.rssEndMb}`,
  ]);
  const parts = [
    table(
      [
        'target',
        'inputs',
        'exceptions',
        'uncaught',
        'invariant violations',
        'inputs/s',
        'heap MB (warm → end)',
        'RSS MB',
      ],
      rows,
    ),
    '',
    results.some((r) => !r.gcExact)
      ? 'Heap figures without --expose-gc (no forced collection): indicative only.'
      : 'Heap figures after a forced full collection (--expose-gc); "warm" is after the first tenth of the inputs.',
    '',
  ];
  for (const r of results) {
    const top = Object.entries(r.outcomes)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 24)
      .map(([k, v]) => `${k} ${thousands(v)}`)
      .join(', ');
    parts.push(`- **${r.target}**: ${top}${r.notes ? `. ${r.notes.join('; ')}` : ''}`);
  }
  return parts.join('\n');
}
