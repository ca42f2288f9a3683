// The outage and soak sections of the stress report.
import { OUTAGE_PHASES, type OutageResult } from './outages.js';
import { table, thousands } from './report.js';
import type { SoakResult } from './soak.js';

function counts(map: Record<string, number>): string {
  const entries = Object.entries(map);
  return entries.length === 0 ? '—' : entries.map(([k, v]) => `${k}: ${v}`).join(', ');
}

/** Whether the outage run met issue 4's promises under load. */
export function outagesClean(r: OutageResult): boolean {
  const relayedAll = OUTAGE_PHASES.every((p) => r.phases[p].relayed.echoed === r.phases[p].relayed.sent);
  const redisCut = r.phases['redis cut'];
  return (
    relayedAll &&
    r.uncaught === 0 &&
    r.liveAllocationsSurvived &&
    Object.keys(redisCut.credentials).every((k) => k === '200') &&
    r.writes.importsMissingFromStore.length === 0 &&
    r.writes.lastKeyWorks &&
    r.writes.earlierKeysRevoked &&
    r.recoveryMs.redis !== null &&
    r.recoveryMs.postgres !== null
  );
}

/** Markdown of the outage run. */
export function outagesMarkdown(r: OutageResult): string {
  return [
    `A whole node (startIcegate) reaches Redis and PostgreSQL through TCP proxies that are cut and restored; each phase lasts ${r.phaseMs / 1000} s. Entitlement answers are fresh for 1 s and may be served stale 2 s more while the store is down. Load throughout: a credential request every 100 ms, 3 live allocations relaying a 160-byte ChannelData message every 20 ms each, a new Allocate about every 0.5 s, order imports from three writers (one every 250 ms each) and a self-service key reissue every second.`,
    '',
    table(
      [
        'phase',
        'POST /v1/ice-servers',
        'new Allocates',
        'relayed on live allocations (sent / echoed)',
        'order imports',
        'key reissues',
      ],
      OUTAGE_PHASES.map((p) => {
        const f = r.phases[p];
        return [
          p,
          counts(f.credentials),
          counts(f.allocates),
          `${thousands(f.relayed.sent)} / ${thousands(f.relayed.echoed)}`,
          counts(f.imports),
          counts(f.reissues),
        ];
      }),
    ),
    '',
    `Recovery without restart: the credential endpoint answered 200 again ${r.recoveryMs.redis ?? 'never'} ms after Redis came back and ${r.recoveryMs.postgres ?? 'never'} ms after PostgreSQL came back. Writes: ${r.writes.acknowledgedImports} acknowledged order imports, ${r.writes.importsMissingFromStore.length} missing from the store afterwards; ${r.writes.unacknowledgedButStored} refused imports found stored anyway; ${r.writes.acknowledgedReissues} acknowledged key reissues, the last key ${r.writes.lastKeyWorks ? 'works' : '**does not work**'} and every earlier one is ${r.writes.earlierKeysRevoked ? 'revoked' : '**not revoked**'} (so no refused reissue took effect). Live allocations survived: ${r.liveAllocationsSurvived ? 'yes' : '**no**'}. Uncaught exceptions in the process: ${r.uncaught === 0 ? '0' : `**${r.uncaught}** (first: \`${(r.firstUncaught ?? '').split('\n')[0]}\`)`}. Logged once each: Redis down ${r.logged.redisDown}, back ${r.logged.redisBack}; store down ${r.logged.storeDown}, back ${r.logged.storeBack} (${r.healthLines.map((l) => `"${l}"`).join('; ')}).`,
  ].join('\n');
}

/** Whether the soak returned to its baseline. */
export function soakClean(r: SoakResult, limits: { rssMb: number; heapMb: number }): boolean {
  return (
    r.end.allocations === 0 &&
    r.end.relaySockets === 0 &&
    r.end.udpClients <= r.baseline.udpClients &&
    r.busyRelayPorts.length === 0 &&
    r.fdsDelta <= 0 &&
    r.rssDeltaMb < limits.rssMb &&
    r.heapDeltaMb < limits.heapMb &&
    r.packets.lost === 0 &&
    Object.values(r.ledger).every((n) => n === null || n === 0)
  );
}

/** "old_space 20.1 → 21.3 (+1.2), ..." for the spaces that hold anything. */
function heapSpaces(r: SoakResult): string {
  const names = Object.keys(r.end.heapSpacesMb).filter(
    (n) => (r.end.heapSpacesMb[n] ?? 0) > 0 || (r.baseline.heapSpacesMb[n] ?? 0) > 0,
  );
  return names
    .map((n) => {
      const before = r.baseline.heapSpacesMb[n] ?? 0;
      const after = r.end.heapSpacesMb[n] ?? 0;
      const change = Math.round((after - before) * 10) / 10;
      return `${n} ${before} → ${after} (${change >= 0 ? '+' : ''}${change})`;
    })
    .join(', ');
}

/**
 * Where the heap change went: compiled code (V8's code space), the secret ring's long-term key
 * cache (at most one entry per credential fetched, at the measured size per entry), and the rest.
 */
export function heapAccount(r: SoakResult): string {
  const code = (r.end.heapSpacesMb['code_space'] ?? 0) - (r.baseline.heapSpacesMb['code_space'] ?? 0);
  const entries = Math.min(r.credentials.ok, r.keyCache.capacity);
  const cache = (entries * r.keyCache.bytesPerEntry) / 2 ** 20;
  const rest = r.heapDeltaMb - code - cache;
  const mb = (n: number): string => `${n >= 0 ? '+' : ''}${Math.round(n * 10) / 10}`;
  return `Heap change ${mb(r.heapDeltaMb)} MB: compiled code ${mb(code)} MB (code space; V8 optimising the hot paths once); the TURN secret ring's long-term key cache, one entry per distinct credential (${r.keyCache.bytesPerEntry} bytes each, measured), a bounded LRU of ${thousands(r.keyCache.capacity)} entries (${Math.round(((r.keyCache.capacity * r.keyCache.bytesPerEntry) / 2 ** 20) * 10) / 10} MB when full): ${thousands(r.credentials.ok)} credentials were fetched during the soak, so up to ${mb(cache)} MB; everything else ${mb(rest)} MB.`;
}

/** Markdown of the soak. */
export function soakMarkdown(r: SoakResult): string {
  const o = r.options;
  const peakAllocations = Math.max(0, ...r.samples.map((s) => s.allocations));
  const peakRss = Math.max(0, ...r.samples.map((s) => s.rssMb));
  return [
    `A whole node (startIcegate over PostgreSQL and Redis) for ${Math.round(o.durationMs / 1000)} s: ${o.callers} callers, each in a loop fetching a credential from POST /v1/ice-servers, allocating (lifetime ${o.lifetime} s), binding a channel to an echo peer and relaying a 160-byte message every 20 ms for ${o.talkMs / 1000} s, then ending the allocation by Refresh 0, by going silent until it expires, or by closing its TCP connection, in turn.`,
    '',
    table(
      ['figure', 'baseline', 'after the soak', 'change'],
      [
        ['RSS, MB', r.baseline.rssMb, r.end.rssMb, r.rssDeltaMb],
        ['heap used after gc, MB', r.baseline.heapUsedMb, r.end.heapUsedMb, r.heapDeltaMb],
        ['open file descriptors', r.baseline.openFds, r.end.openFds, r.fdsDelta],
        [
          'live allocations',
          r.baseline.allocations,
          r.end.allocations,
          r.end.allocations - r.baseline.allocations,
        ],
        [
          'relay sockets',
          r.baseline.relaySockets,
          r.end.relaySockets,
          r.end.relaySockets - r.baseline.relaySockets,
        ],
        [
          'UDP clients the listener remembers',
          r.baseline.udpClients,
          r.end.udpClients,
          r.end.udpClients - r.baseline.udpClients,
        ],
      ],
    ),
    '',
    `Heap used by V8 space after gc, MB (baseline → after): ${heapSpaces(r)}.`,
    '',
    heapAccount(r),
    '',
    `Allocations created: ${thousands(r.allocations.created)} (ended by ${counts(r.allocations.endedBy)}; refused: ${counts(r.allocations.refusals)}); peak ${peakAllocations} live at once; peak RSS ${peakRss} MB. Credentials fetched: ${thousands(r.credentials.ok)} (${r.credentials.failed} failed). Packets: ${thousands(r.packets.sent)} sent, ${thousands(r.packets.echoed)} echoed, ${r.packets.lost} lost. Relay ports still bound afterwards: ${r.busyRelayPorts.length === 0 ? 'none' : r.busyRelayPorts.join(', ')}. Fleet quota ledger afterwards: ${counts(Object.fromEntries(Object.entries(r.ledger).map(([k, v]) => [k, v ?? -1])))}. Errors logged: ${r.errorsLogged.length}.`,
    '',
    table(
      [
        't, s',
        'RSS, MB',
        'heap after gc, MB',
        'fds',
        'allocations',
        'relay sockets',
        'UDP clients',
        'credentials fetched',
      ],
      r.samples.map((s) => [
        s.atS,
        s.rssMb,
        s.heapUsedMb,
        s.openFds,
        s.allocations,
        s.relaySockets,
        s.udpClients,
        thousands(s.credentials),
      ]),
    ),
  ].join('\n');
}
