// Results of the stress run: every suite writes its part (JSON: figures, verdicts, a markdown
// section) under stress/results/parts/; the global setup of vitest.stress.config.ts merges the
// parts into stress/results/<date>.json and <date>.md, and copies the markdown to stress/report.md.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';

/** Where results go. */
export const RESULTS_DIR = join(import.meta.dirname, '..', 'results');
const PARTS_DIR = join(RESULTS_DIR, 'parts');
const REPORT_MD = join(import.meta.dirname, '..', 'report.md');

/** One suite's contribution. */
export interface SuitePart {
  /** File-safe id, e.g. "fuzz". */
  id: string;
  title: string;
  /** Order in the report. */
  order: number;
  /** True when every assertion of the suite held. */
  passed: boolean;
  /** Markdown body (tables, notes). */
  markdown: string;
  /** Raw figures. */
  data: unknown;
}

/** Writes one suite's part (the stress files call this after their assertions ran). */
export function writePart(part: SuitePart): void {
  mkdirSync(PARTS_DIR, { recursive: true });
  writeFileSync(join(PARTS_DIR, `${part.id}.json`), `${JSON.stringify(part, null, 2)}\n`);
}

/** Forgets parts of a previous run. */
export function clearParts(): void {
  rmSync(PARTS_DIR, { recursive: true, force: true });
}

/** The 1, 5 and 15-minute load averages, rounded (the machine is shared: this is its noise). */
export function loadAverages(): number[] {
  return loadavg().map((n) => Math.round(n * 100) / 100);
}

/**
 * Merges the parts into the dated JSON and markdown reports; returns their paths (null when no
 * part). `loadAtStart` is loadAverages() when the run began.
 */
export function mergeParts(
  startedAt: Date,
  loadAtStart: readonly number[] = [],
): { json: string; markdown: string } | null {
  let files: string[];
  try {
    files = readdirSync(PARTS_DIR).filter((f) => f.endsWith('.json'));
  } catch {
    return null;
  }
  if (files.length === 0) return null;
  const parts = files
    .map((f) => JSON.parse(readFileSync(join(PARTS_DIR, f), 'utf8')) as SuitePart)
    .sort((a, b) => a.order - b.order);
  const finishedAt = new Date();
  const load = { atStart: loadAtStart, atEnd: loadAverages() };
  const stamp = startedAt.toISOString().replace(/[:]/g, '-').replace(/\..*$/, 'Z');
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
  const json = join(RESULTS_DIR, `${stamp}.json`);
  const markdownPath = join(RESULTS_DIR, `${stamp}.md`);
  writeFileSync(
    json,
    `${JSON.stringify({ startedAt, finishedAt, machine, load, suites: parts.map(({ markdown: _m, ...rest }) => rest) }, null, 2)}\n`,
  );
  const minutes = ((finishedAt.getTime() - startedAt.getTime()) / 60_000).toFixed(1);
  const lines = [
    '# icegate stress report',
    '',
    `Run ${startedAt.toISOString()} (${minutes} min) on ${machine}; \`npm run stress\`, loopback only.`,
    '',
    `Machine noise (shared machine): load average (1, 5, 15 min) ${load.atStart.join(' / ') || '?'} at the start, ${load.atEnd.join(' / ')} at the end.`,
    '',
    '| suite | result |',
    '|---|---|',
    ...parts.map((p) => `| ${p.title} | ${p.passed ? 'pass' : '**FAIL**'} |`),
    '',
    ...parts.flatMap((p) => [`## ${p.title}`, '', p.markdown.trim(), '']),
  ];
  const markdown = `${lines.join('\n')}\n`;
  writeFileSync(markdownPath, markdown);
  writeFileSync(REPORT_MD, markdown);
  formatWithBiome([json, markdownPath, REPORT_MD]);
  return { json, markdown: markdownPath };
}

/** Lays the written files out as the project's formatter does, so `npm run lint` stays clean. */
function formatWithBiome(files: readonly string[]): void {
  const biome = join(import.meta.dirname, '..', '..', 'node_modules', '.bin', 'biome');
  try {
    execFileSync(biome, ['format', '--write', ...files], { stdio: 'ignore' });
  } catch {
    // Unformatted figures are still figures.
  }
}

/** A markdown table. */
export function table(headers: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const line = (cells: readonly (string | number)[]): string =>
    `| ${cells.map((c) => String(c)).join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

/** 1234567 -> "1,234,567". */
export function thousands(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}
