// The printed tables, and the per-load summary the JSON keeps beside the raw runs.

import { coldCpuPerAllocationUs, cpuPerAllocationUs, judgeGoals, renderGoals } from './goals.mjs';

const roundedOrNull = (x) => (x === null ? null : Math.round(x));

function median(values) {
  const sorted = values.filter((v) => typeof v === 'number').sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function ratio(a, b) {
  return typeof a === 'number' && typeof b === 'number' && b > 0 ? Math.round((a / b) * 100) / 100 : null;
}

/**
 * One row per (load, server): the run with the median CPU cost when there were several, and
 * the cost ratios to coturn (default threads) and to the Node floor.
 */
export function summariseRelay(runs) {
  const groups = new Map();
  for (const run of runs) {
    const key = `${run.load}\u0000${run.target}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(run);
  }
  const rows = [];
  for (const group of groups.values()) {
    const ok = group.filter((r) => !r.error && r.cpuSecondsPerMillionPackets !== null);
    if (ok.length === 0) {
      rows.push({
        load: group[0].load,
        target: group[0].target,
        error: group[0].error ?? 'no figures',
        runs: group.length,
      });
      continue;
    }
    const cost = median(ok.map((r) => r.cpuSecondsPerMillionPackets));
    const chosen = ok.reduce((best, r) =>
      Math.abs(r.cpuSecondsPerMillionPackets - cost) < Math.abs(best.cpuSecondsPerMillionPackets - cost)
        ? r
        : best,
    );
    rows.push({
      load: chosen.load,
      target: chosen.target,
      runs: group.length,
      deliveredPps: chosen.deliveredPps,
      peakPps: chosen.peakPps,
      lossPct: chosen.lossPct,
      serverSocketDrops: chosen.serverSocketDrops,
      rttMs: chosen.rttMs,
      serverCpuSeconds: chosen.serverCpuSeconds,
      relayedPackets: chosen.relayedPackets,
      cpuSecondsPerMillionPackets: cost,
      generatorCpuSeconds: chosen.generatorCpuSeconds,
      serverCpuSecondsByThread: chosen.serverCpuSecondsByThread,
      busySeconds: chosen.busySeconds,
      loadavg1: chosen.machineLoad?.before?.loadavg1 ?? null,
    });
  }
  for (const row of rows) {
    const ref = (id) => rows.find((r) => r.load === row.load && r.target === id)?.cpuSecondsPerMillionPackets;
    row.costVsCoturn = ratio(row.cpuSecondsPerMillionPackets, ref('coturn'));
    row.costVsFloor = ratio(row.cpuSecondsPerMillionPackets, ref('floor'));
    const pps = (id) => rows.find((r) => r.load === row.load && r.target === id)?.deliveredPps;
    row.ppsVsCoturn = ratio(row.deliveredPps, pps('coturn'));
  }
  return rows;
}

const mib = (kib) => Math.round(kib / 102.4) / 10;

/** Issue 19 point 3: an idle icegate node holds at most this much RSS (MiB). */
export const RSS_AT_REST_GOAL_MIB = 60;

/** `rss` MiB beside the goal: "yes" when at most RSS_AT_REST_GOAL_MIB, else "no (+N MiB)". */
function goalFlag(rssMib) {
  if (rssMib === null) return null;
  const over = Math.round((rssMib - RSS_AT_REST_GOAL_MIB) * 10) / 10;
  return over <= 0 ? 'yes' : `no (+${over} MiB)`;
}

function table(headers, rows) {
  const cells = rows.map((r) => r.map((c) => (c === null || c === undefined ? '-' : String(c))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i].length)));
  const line = (r) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [line(headers), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.map(line)].join(
    '\n',
  );
}

/** Markdown tables for everything measured, and plain lines for what was not. */
export function renderReport(result) {
  const out = [];
  out.push(`icegate benchmark, ${result.startedAt}`);
  out.push(
    `machine: ${result.machine.cpuModel}, ${result.machine.cores} cores, Node ${result.machine.node}, load average at start ${result.machine.loadAtStart.loadavg1}/${result.machine.loadAtStart.loadavg5}/${result.machine.loadAtStart.loadavg15}`,
  );
  if (result.relay) {
    out.push('', '## Relay (turnutils_uclient -> server -> turnutils_peer, loopback)');
    for (const [id, capability] of Object.entries(result.relay.capabilities)) {
      const c = capability;
      out.push(
        `probe ${id}: allocate as uclient ${c.allocateAsUclient ?? '-'}, Send indication ${c.sendIndication?.toPeer ?? '-'}/${c.sendIndication?.back ?? '-'}, channel ${c.channel?.toPeer ?? '-'}/${c.channel?.back ?? '-'}${c.error ? ` (${c.error})` : ''}`,
      );
    }
    for (const s of result.relay.skipped) {
      out.push(`not measured: ${s.target}${s.load ? ` (${s.load})` : ''}: ${s.reason}`);
    }
    for (const load of result.relay.loads) {
      const rows = result.relay.summary.filter((r) => r.load === load.id);
      out.push(
        '',
        `### ${load.id}: ${load.label} (-m ${load.clients} -n ${load.messages} -l ${load.length} -z ${load.intervalMs})`,
      );
      out.push(
        table(
          [
            'server',
            'delivered pkt/s',
            'peak pkt/s',
            'loss %',
            'server drops',
            'RTT ms',
            'server CPU s',
            'CPU s per M relayed',
            'x coturn',
            'x floor',
            'uclient CPU s',
            'load1',
          ],
          rows.map((r) =>
            r.error
              ? [r.target, `error: ${r.error}`, '', '', '', '', '', '', '', '', '', '']
              : [
                  r.target,
                  r.deliveredPps,
                  r.peakPps,
                  r.lossPct,
                  r.serverSocketDrops,
                  r.rttMs,
                  r.serverCpuSeconds,
                  r.cpuSecondsPerMillionPackets,
                  r.costVsCoturn,
                  r.costVsFloor,
                  r.generatorCpuSeconds,
                  r.loadavg1,
                ],
          ),
        ),
      );
    }
    out.push('', 'server CPU seconds by thread:');
    for (const r of result.relay.summary.filter((x) => x.serverCpuSecondsByThread)) {
      const threads = Object.entries(r.serverCpuSecondsByThread)
        .sort((a, b) => b[1] - a[1])
        .map(([name, s]) => `${name} ${s}`)
        .join(', ');
      out.push(`  ${r.target} (${r.load}): ${threads}`);
    }
    for (const p of result.relay.profiles) {
      out.push('', `profile ${p.target}${p.load ? ` (${p.load})` : ''}: ${p.file ?? p.error}`);
      if (p.top) {
        out.push(
          `  load window only (after ${p.top.skippedMs} ms), busy ${p.top.totalMs - p.top.idleMs} ms; by origin: ${p.top.byOrigin.map((o) => `${o.name} ${o.pct}%`).join(', ')}`,
        );
        for (const f of p.top.top.slice(0, 10)) out.push(`  ${String(f.pct).padStart(5)}%  ${f.name}`);
      }
    }
  }
  if (result.allocations) {
    const addresses = result.allocations.find((a) => a.clientAddresses)?.clientAddresses ?? '?';
    out.push(
      '',
      `## Allocations (one UDP socket per allocation, from ${addresses} client addresses, 401 dance each, 64 in flight)`,
    );
    const cps = result.allocationCheckpoints;
    const restMib = (a) => (a.error || a.rssBaselineKiB == null ? null : mib(a.rssBaselineKiB));
    // Each server beside coturn of its own round (bench --repeat runs phase 2 in rounds).
    const coturnRest = (a) =>
      restMib(result.allocations.find((c) => c.target === 'coturn' && c.round === a.round) ?? {});
    const label = (a) => (a.round === undefined ? a.target : `${a.target} (round ${a.round})`);
    const warmCount = result.allocations.find((a) => a.warmUp)?.warmUp.count ?? 'N';
    out.push(
      `Each server: at rest ${result.allocations.find((a) => a.restMs)?.restMs ?? '?'} ms after start (RSS at rest), then a warm-up of ${warmCount} allocations opened and deleted (the cold columns), then the measured run; bytes per allocation count from the RSS at rest.`,
      table(
        [
          'server',
          'allocations/s',
          'server CPU µs per alloc',
          `cold: first ${warmCount} allocations/s`,
          'cold: CPU µs per alloc',
          'live',
          'first error',
          'RSS at rest MiB',
          'anon / file MiB',
          'x coturn',
          `<= ${RSS_AT_REST_GOAL_MIB} MiB goal`,
          ...cps.map((c) => `B per alloc @${c}`),
          'load1',
        ],
        result.allocations.map((a) =>
          a.error
            ? [label(a), `error: ${a.error}`, '', '', '', '', '', '', '', '', '', ...cps.map(() => ''), '']
            : [
                label(a),
                a.allocationsPerSecond,
                roundedOrNull(cpuPerAllocationUs(a)),
                a.warmUp ? a.warmUp.allocationsPerSecond : 'no warm-up',
                roundedOrNull(coldCpuPerAllocationUs(a)),
                a.live,
                a.firstError ? `${a.firstError.code} at ${a.firstError.atLive ?? '?'}` : 'none',
                restMib(a),
                a.rssAtRest ? `${mib(a.rssAtRest.anon)} / ${mib(a.rssAtRest.file)}` : null,
                restMib(a) === null || !coturnRest(a)
                  ? null
                  : Math.round((restMib(a) / coturnRest(a)) * 10) / 10,
                a.target.startsWith('icegate') ? goalFlag(restMib(a)) : '',
                ...cps.map(
                  (c) => a.checkpoints.find((p) => p.live === c)?.bytesPerAllocation ?? 'not reached',
                ),
                a.machineLoad?.before?.loadavg1,
              ],
        ),
      ),
    );
    for (const bare of result.bareNode ?? []) {
      const r = bare.rssAtRest;
      out.push(
        `bare Node ${bare.node ?? bare.path} at rest (for scale): ${r ? `${mib(r.rss)} MiB (anon ${mib(r.anon)} / file ${mib(r.file)})` : 'not measured'}`,
      );
    }
  }
  if (result.credentials) {
    out.push(
      '',
      `## Credential endpoint (POST /v1/ice-servers, server on CPU 0, autocannon on CPU 1, ${result.credentials.connections ?? '?'} connections)`,
    );
    if (!result.credentials.available) out.push(result.credentials.reason);
    else
      out.push(
        table(
          [
            'round',
            'variant',
            'requests/s',
            'x bare Express',
            'x bare, preset prototypes',
            'server CPU µs per request',
            'p50 ms',
            'p99 ms',
            'answers by status',
            'errors',
            'load1',
          ],
          result.credentials.results.map((r) =>
            r.error
              ? [r.round, r.variant, `error: ${r.error}`, '', '', '', '', '', '', '', '']
              : [
                  r.round,
                  r.variant,
                  r.requestsPerSecond,
                  r.vsBareExpress ?? (r.variant === 'bare-express' ? 1 : null),
                  r.vsBarePreset ?? null,
                  r.serverCpuUsPerRequest ?? null,
                  r.latencyMs.p50,
                  r.latencyMs.p99,
                  Object.entries(r.statusCodes ?? {})
                    .map(([code, n]) => `${code}: ${n}`)
                    .join(', '),
                  r.errors,
                  r.machineLoad?.before?.loadavg1,
                ],
          ),
        ),
      );
  }
  out.push(...renderGoals(result.goals ?? judgeGoals(result)));
  out.push(
    '',
    `load average at end ${result.machine.loadAtEnd?.loadavg1 ?? '-'}; total ${result.durationS} s`,
  );
  return out.join('\n');
}
