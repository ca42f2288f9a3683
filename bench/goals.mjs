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

function allocationRows(result) {
  const rows = [];
  if (!result.allocations) return rows;
  const byId = (id) => result.allocations.find((a) => a.target === id && !a.error);
  const coturn = byId('coturn');
  for (const id of ['icegate', 'icegate-native', 'icegate-redis']) {
    const a = byId(id);
    const goal =
      id === 'icegate-redis'
        ? 'allocations/s with the Redis fleet ledger (reported, no goal)'
        : 'allocations/s >= 1.0x coturn, embedded';
    if (!a || !coturn) {
      rows.push(missing(goal, id, 'not measured beside coturn in this run'));
      continue;
    }
    const ratio = a.allocationsPerSecond / coturn.allocationsPerSecond;
    rows.push(
      row(
        goal,
        id,
        a.allocationsPerSecond,
        coturn.allocationsPerSecond,
        ratio,
        id === 'icegate-redis' ? null : ratio >= 1.0,
      ),
    );
  }
  const node = byId('icegate-native');
  const memGoal = 'RSS at rest <= 60 MiB (idle node, default plane)';
  if (node && typeof node.rssBaselineKiB === 'number') {
    const coturnRss = coturn?.rssBaselineKiB;
    rows.push(
      row(
        memGoal,
        'icegate-native',
        `${round(node.rssBaselineKiB / MIB, 1)} MiB`,
        typeof coturnRss === 'number' ? `coturn ${round(coturnRss / MIB, 1)} MiB` : 'coturn not measured',
        typeof coturnRss === 'number' ? node.rssBaselineKiB / coturnRss : null,
        node.rssBaselineKiB <= 60 * MIB,
        'the goal is absolute; the ratio to coturn is shown for scale',
      ),
    );
  } else {
    rows.push(missing(memGoal, 'icegate-native', 'no RSS at rest in this run'));
  }
  const last = result.allocationCheckpoints?.at(-1);
  if (node && coturn && last !== undefined) {
    const per = (a) => a.checkpoints?.find((p) => p.live === last)?.bytesPerAllocation;
    const mine = per(node);
    const theirs = per(coturn);
    if (typeof mine === 'number' && typeof theirs === 'number') {
      rows.push(
        row(
          `bytes per live allocation @${last} kept at about 5.6 KB (<= 8 KB)`,
          'icegate-native',
          mine,
          theirs,
          mine / theirs,
          mine <= 8 * 1024,
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
    const runs = c.results.filter((r) => r.variant === variant && !r.error);
    const bare = c.results.filter((r) => r.variant === 'bare-express' && !r.error);
    if (runs.length === 0 || bare.length === 0) {
      rows.push(missing(goal, variant, 'no successful run beside the bare route'));
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
        runs.length > 1 ? `median of ${runs.length} rounds` : '',
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
