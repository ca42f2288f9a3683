// Where the time goes in a `node --cpu-prof` profile: self time per function, and per origin
// (Node's own modules, the project's code, dependencies, the engine: GC, program, idle).
// Usage as a program: node bench/cpu-profile-summary.mjs FILE.cpuprofile [TOP]
import { readFileSync } from 'node:fs';

function originOf(url, functionName) {
  if (url === '') return functionName.startsWith('(') ? functionName : 'native';
  if (url.startsWith('node:')) return 'node';
  if (url.includes('/node_modules/')) return 'dependencies';
  if (url.includes('/dist/src/')) return 'icegate';
  if (url.includes('/bench/')) return 'bench';
  return 'other';
}

function shortUrl(url) {
  const at = url.search(/\/(dist\/src|bench|node_modules)\//);
  return at >= 0 ? url.slice(at + 1) : url;
}

/**
 * Summarises a .cpuprofile: {totalMs, idleMs, byOrigin: [{origin, ms, pct}], top: [{fn, ms, pct}]}
 * with percentages of the busy (non-idle) time. `fromMs` skips the samples taken in the first
 * milliseconds of the profile (start-up: module loading and compilation); `toMs`, when given,
 * those after it (shutdown).
 */
export function summariseProfile(file, top = 15, { fromMs = 0, toMs = Number.POSITIVE_INFINITY } = {}) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map();
  let atUs = 0;
  for (let i = 0; i < profile.samples.length; i += 1) {
    atUs += profile.timeDeltas[i] ?? 0;
    if (atUs < fromMs * 1000) continue;
    if (atUs > toMs * 1000) break;
    const id = profile.samples[i];
    // timeDeltas[i] is the time since the previous sample; give sample i the interval after it.
    const delta = profile.timeDeltas[i + 1] ?? 0;
    selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
  }
  const byFunction = new Map();
  const byOrigin = new Map();
  let totalUs = 0;
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = byId.get(id).callFrame;
    totalUs += us;
    if (functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    const key = `${functionName || '(anonymous)'} ${url ? `${shortUrl(url)}:${lineNumber + 1}` : ''}`.trim();
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
    const origin = originOf(url, functionName);
    byOrigin.set(origin, (byOrigin.get(origin) ?? 0) + us);
  }
  const busyUs = totalUs - idleUs || 1;
  const rows = (map) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([name, us]) => ({
        name,
        ms: Math.round(us / 100) / 10,
        pct: Math.round((us / busyUs) * 1000) / 10,
      }));
  return {
    skippedMs: fromMs,
    totalMs: Math.round(totalUs / 1000),
    idleMs: Math.round(idleUs / 1000),
    byOrigin: rows(byOrigin),
    top: rows(byFunction).slice(0, top),
  };
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: node bench/cpu-profile-summary.mjs FILE.cpuprofile [TOP]\n');
    process.exit(2);
  }
  process.stdout.write(`${JSON.stringify(summariseProfile(file, Number(process.argv[3] ?? 20)), null, 2)}\n`);
}
