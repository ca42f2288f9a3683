// Issue 19's goals, judged from one run's figures: every row names icegate's figure, the reference
// measured in the same run (coturn, or the bare Express route), the ratio and whether it meets
// the goal. A row whose figures this run did not take says so instead of passing.

const MIB = 1024;

/** The relay loads and the goal each is held to: CPU per relayed packet at most 1.0x coturn. */
const RELAY_GOAL_LOADS = [
  'paced',
  'saturating',
  'tcp-paced',
  'tcp-saturating',
  'tls-paced',
  'tls-saturating',
];

function round(value, places = 2) {
  if (typeof value !== 'number' || !Number.isFinite(value)) return null;
  const f = 10 ** places;
  return Math.round(value * f) / f;
}

function median(values) {
  const sorted = values.filter((v) => typeof v === 'number').sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function row(goal, subject, value, reference, ratio, met, note = '') {
  return { goal, subject, value, reference, ratio: round(ratio), met, note };
}

function missing(goal, subject, why) {
  return { goal, subject, value: null, reference: null, ratio: null, met: null, note: why };
}

function relayRows(result) {
  const rows = [];
  if (!result.relay) return rows;
  const summary = result.relay.summary ?? [];
  for (const load of RELAY_GOAL_LOADS) {
    if (!result.relay.loads.some((l) => l.id === load)) continue;
    const coturn = summary.find((r) => r.load === load && r.target === 'coturn');
    const icegate = summary.find((r) => r.load === load && r.target === 'icegate-native');
    const goal = `${load}: CPU per relayed packet <= 1.0x coturn, loss <= coturn's + 0.5 pt`;
    if (!coturn || coturn.error || !icegate || icegate.error) {
      rows.push(missing(goal, 'icegate-native', 'coturn and icegate-native were not both measured'));
      continue;
    }
    const ratio = icegate.cpuSecondsPerMillionPackets / coturn.cpuSecondsPerMillionPackets;
    const lossOk = (icegate.lossPct ?? 100) <= (coturn.lossPct ?? 0) + 0.5;
    rows.push(
      row(
        goal,
        'icegate-native',
        `${icegate.cpuSecondsPerMillionPackets} us/pkt, loss ${icegate.lossPct} %`,
        `${coturn.cpuSecondsPerMillionPackets} us/pkt, loss ${coturn.lossPct} %`,
        ratio,
        ratio <= 1.0 && lossOk,
      ),
    );
  }
  return rows;
}

/**
 * The allocation phase's runs grouped by round (bench --repeat; a run without rounds is round 1):
 * [{round, byId(id)}] where byId gives that round's successful run of a server.
 */
function allocationRounds(result) {
  const rounds = new Map();
  for (const a of result.allocations) {
    if (a.error) continue;
    const round = a.round ?? 1;
    if (!rounds.has(round)) rounds.set(round, new Map());
    if (!rounds.get(round).has(a.target)) rounds.get(round).set(a.target, a);
  }
  return [...rounds.keys()]
    .sort((x, y) => x - y)
    .map((round) => ({ round, byId: (id) => rounds.get(round).get(id) }));
}

/** "median of 3 rounds: 0.91, 1.04, 1.12" for several rounds, '' for one. */
function roundsNote(ratios) {
  if (ratios.length < 2) return '';
  return `median of ${ratios.length} rounds: ${ratios.map((r) => round(r)).join(', ')}`;
}

/** A run's server CPU µs per live allocation (null without the figures). */
export function cpuPerAllocationUs(a) {
  return typeof a.serverCpuSeconds === 'number' && a.live ? (a.serverCpuSeconds / a.live) * 1e6 : null;
}

/** The warm-up's figures, the first allocations after start (null when the run had no warm-up). */
function coldRate(a) {
  return a.warmUp?.live ? a.warmUp.allocationsPerSecond : null;
}

/** The same for the warm-up's allocations, the cold figure (null without a warm-up). */
export function coldCpuPerAllocationUs(a) {
  return a.warmUp?.live && typeof a.warmUp.serverCpuSeconds === 'number'
    ? (a.warmUp.serverCpuSeconds / a.warmUp.live) * 1e6
    : null;
}

function allocationRows(result) {
  const rows = [];
  if (!result.allocations) return rows;
  const rounds = allocationRounds(result);
  // Each icegate figure against coturn's of the same round; a round without both is left out.
  const paired = (id, figure) =>
    rounds
      .map(({ byId }) => {
        const mine = byId(id);
        const theirs = byId('coturn');
        if (!mine || !theirs) return null;
        const [a, b] = [figure(mine), figure(theirs)];
        return typeof a === 'number' && typeof b === 'number' ? { mine: a, theirs: b, ratio: a / b } : null;
      })
      .filter((p) => p !== null);
  for (const id of ['icegate', 'icegate-native', 'icegate-redis', 'icegate-native-node24']) {
    const reported = id === 'icegate-redis' || id === 'icegate-native-node24';
    // Node 24 is reported only when scripts/node24.sh left it in place; never a missing goal row.
    if (id === 'icegate-native-node24' && !rounds.some(({ byId }) => byId(id))) continue;
    const goal =
      id === 'icegate-redis'
        ? 'allocations/s with the Redis fleet ledger (reported, no goal)'
        : reported
          ? "allocations/s on Node 24, the production image's runtime (reported)"
          : 'allocations/s >= 1.0x coturn, embedded';
    const pairs = paired(id, (a) => a.allocationsPerSecond);
    if (pairs.length === 0) {
      rows.push(missing(goal, id, 'not measured beside coturn in this run'));
      continue;
    }
    const ratio = median(pairs.map((p) => p.ratio));
    rows.push(
      row(
        goal,
        id,
        round(median(pairs.map((p) => p.mine)), 0),
        round(median(pairs.map((p) => p.theirs)), 0),
        ratio,
        reported ? null : ratio >= 1.0,
        roundsNote(pairs.map((p) => p.ratio)),
      ),
    );
    // The server's CPU time per allocation (all threads, /proc): what the rate costs, steadier than
    // the rate on a shared machine. Lower is better; reported beside the goal, not judged.
    const cpu = paired(id, cpuPerAllocationUs);
    if (cpu.length > 0) {
      rows.push(
        row(
          'server CPU µs per allocation, x coturn (reported; lower is better)',
          id,
          round(median(cpu.map((p) => p.mine)), 0),
          round(median(cpu.map((p) => p.theirs)), 0),
          median(cpu.map((p) => p.ratio)),
          null,
          roundsNote(cpu.map((p) => p.ratio)),
        ),
      );
    }
    // The same two figures for the warm-up, the first allocations after start: what a node just
    // started does while its code is still being compiled (reported, no goal).
    if (id === 'icegate-redis') continue;
    const coldCount = rounds.map(({ byId }) => byId(id)?.warmUp?.count).find((n) => n);
    for (const [what, figure] of [
      ['allocations/s', coldRate],
      ['server CPU µs per allocation (lower is better)', coldCpuPerAllocationUs],
    ]) {
      const cold = paired(id, figure);
      if (cold.length === 0) continue;
      rows.push(
        row(
          `${what} in the first ${coldCount} after start, cold, x coturn (reported)`,
          id,
          round(median(cold.map((p) => p.mine)), 0),
          round(median(cold.map((p) => p.theirs)), 0),
          median(cold.map((p) => p.ratio)),
          null,
          roundsNote(cold.map((p) => p.ratio)),
        ),
      );
    }
  }
  // A bare Node at rest on the same binary (bench/run.mjs), for scale: what icegate adds to it.
  const bareRest = (major) =>
    (result.bareNode ?? []).find((b) => b.node?.startsWith(`v${major}.`) && b.rssAtRest)?.rssAtRest.rss ??
    null;
  const coturnRest = median(rounds.map(({ byId }) => byId('coturn')?.rssBaselineKiB));
  for (const id of ['icegate-native', 'icegate-native-node24']) {
    const nodes = rounds.map(({ byId }) => byId(id)).filter((a) => a !== undefined);
    const onNode24 = id === 'icegate-native-node24';
    const memGoal = onNode24
      ? "RSS at rest on Node 24, the production image's runtime (reported against the 60 MiB goal)"
      : 'RSS at rest <= 60 MiB (idle node, default plane)';
    const rest = median(nodes.map((a) => a.rssBaselineKiB));
    if (rest === null) {
      if (!onNode24) rows.push(missing(memGoal, id, 'no RSS at rest in this run'));
      continue;
    }
    const each = nodes.map((a) => a.rssBaselineKiB).filter((k) => typeof k === 'number');
    const bare = bareRest(onNode24 ? 24 : Number(result.machine?.node?.split('.')[0] ?? 0));
    rows.push(
      row(
        memGoal,
        id,
        `${round(rest / MIB, 1)} MiB`,
        [
          coturnRest !== null ? `coturn ${round(coturnRest / MIB, 1)} MiB` : 'coturn not measured',
          ...(bare !== null ? [`bare Node ${round(bare / MIB, 1)} MiB`] : []),
        ].join('; '),
        coturnRest !== null ? rest / coturnRest : null,
        onNode24 ? null : rest <= 60 * MIB,
        `${each.length > 1 ? `median of ${each.length} rounds: ${each.map((k) => round(k / MIB, 1)).join(', ')} MiB; ` : ''}the goal is absolute; the ratio to coturn is shown for scale`,
      ),
    );
  }
  const last = result.allocationCheckpoints?.at(-1);
  if (last !== undefined) {
    const per = (a) => a.checkpoints?.find((p) => p.live === last)?.bytesPerAllocation;
    const pairs = paired('icegate-native', per);
    if (pairs.length > 0) {
      const mine = median(pairs.map((p) => p.mine));
      rows.push(
        row(
          `bytes per live allocation @${last} kept at about 5.6 KB (<= 8 KB)`,
          'icegate-native',
          round(mine, 0),
          round(median(pairs.map((p) => p.theirs)), 0),
          median(pairs.map((p) => p.ratio)),
          mine <= 8 * 1024,
          roundsNote(pairs.map((p) => p.ratio)),
        ),
      );
    }
  }
  return rows;
}

function credentialRows(result) {
  const rows = [];
  const c = result.credentials;
  if (!c) return rows;
  for (const variant of ['embedded', 'redis']) {
    const goal = 'POST /v1/ice-servers >= 0.8x bare Express 5, p99 <= 20 ms at 50 connections';
    if (!c.available) {
      rows.push(missing(goal, variant, c.reason ?? 'not measured'));
      continue;
    }
    // A run that got answers other than 200 (a rate limit met, errors) measured something else.
    const allAnswered = (r) => Object.keys(r.statusCodes ?? { 200: 1 }).every((code) => code === '200');
    const measured = c.results.filter((r) => r.variant === variant && !r.error);
    const runs = measured.filter(allAnswered);
    const leftOut = measured.filter((r) => !allAnswered(r)).map((r) => `round ${r.round ?? 1}`);
    const bare = c.results.filter((r) => r.variant === 'bare-express' && !r.error);
    const leftOutNote = leftOut.length > 0 ? `left out (answers other than 200): ${leftOut.join(', ')}` : '';
    if (runs.length === 0 || bare.length === 0) {
      rows.push(
        missing(
          goal,
          variant,
          ['no successful run beside the bare route', leftOutNote].filter(Boolean).join('; '),
        ),
      );
      continue;
    }
    const ratio = median(runs.map((r) => r.vsBareExpress));
    const p99 = median(runs.map((r) => r.latencyMs?.p99));
    const bareRps = median(bare.map((r) => r.requestsPerSecond));
    const bareP99 = median(bare.map((r) => r.latencyMs?.p99));
    rows.push(
      row(
        goal,
        variant,
        `${round(median(runs.map((r) => r.requestsPerSecond)), 0)} req/s, p99 ${p99} ms`,
        `bare ${round(bareRps, 0)} req/s, p99 ${bareP99} ms`,
        ratio,
        ratio !== null && ratio >= 0.8 && p99 !== null && p99 <= 20,
        [runs.length > 1 ? `median of ${runs.length} rounds` : '', leftOutNote].filter(Boolean).join('; '),
      ),
    );
    // The same comparison with the bare route on a server built as icegate's is (reported).
    const preset = c.results.filter((r) => r.variant === 'bare-express-preset' && !r.error);
    if (preset.length > 0) {
      rows.push(
        row(
          'POST /v1/ice-servers x bare route on a server built as icegate builds its own (reported, no goal)',
          variant,
          `${round(median(runs.map((r) => r.requestsPerSecond)), 0)} req/s`,
          `bare, preset prototypes ${round(median(preset.map((r) => r.requestsPerSecond)), 0)} req/s, p99 ${median(preset.map((r) => r.latencyMs?.p99))} ms`,
          median(runs.map((r) => r.vsBarePreset)),
          null,
          runs.length > 1 ? `median of ${runs.length} rounds` : '',
        ),
      );
    }
  }
  return rows;
}

/** Every goal row this run can judge (see the header comment). */
export function judgeGoals(result) {
  return [...relayRows(result), ...allocationRows(result), ...credentialRows(result)];
}

/** The rows as a printed table. */
export function renderGoals(rows) {
  if (rows.length === 0) return [];
  const cells = rows.map((r) => [
    r.goal,
    r.subject,
    r.value ?? '-',
    r.reference ?? '-',
    r.ratio ?? '-',
    r.met === null ? (r.value === null ? 'not measured' : 'reported') : r.met ? 'yes' : 'NO',
    r.note,
  ]);
  const headers = ['goal (issue 19)', 'subject', 'icegate', 'reference, same run', 'ratio', 'met', 'note'];
  const lines = [`| ${headers.join(' | ')} |`, `|${headers.map(() => '---').join('|')}|`];
  for (const c of cells) lines.push(`| ${c.map((x) => String(x)).join(' | ')} |`);
  return ['', '## Goals', ...lines];
}
