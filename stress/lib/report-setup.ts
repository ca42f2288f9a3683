// Global setup of `npm run stress`: clears old parts before the run, merges the new ones after it.
import { clearParts, loadAverages, mergeParts } from './report.js';

/** Vitest global setup: returns the teardown that writes the report. */
export default function setup(): () => void {
  const startedAt = new Date();
  const loadAtStart = loadAverages();
  clearParts();
  return () => {
    const written = mergeParts(startedAt, loadAtStart);
    if (written !== null) console.log(`stress report: ${written.markdown} (and stress/report.md)`);
  };
}
