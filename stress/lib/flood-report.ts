// The flood sections of the stress report: before authentication (memory, timers, reflection)
// and after it (one tenant's quotas against another tenant's relaying).
import type { PreauthFloodResult, ReflectionResult } from './preauth.js';
import { table, thousands } from './report.js';
import type { TenantFloodResult } from './tenant-flood.js';

/** Markdown of the unauthenticated flood and the reflection figures. */
export function preauthMarkdown(
  floodResult: PreauthFloodResult,
  reflections: readonly ReflectionResult[],
): string {
  const f = floodResult;
  return [
    `${thousands(f.requests)} unauthenticated Allocates from ${f.sockets} source ports in ${f.seconds} s, the reflection guard off so that every one is answered (${thousands(f.answered)} 401s received):`,
    '',
    table(
      ['figure', 'before', 'after', 'change'],
      [
        ['RSS, MB', f.before.rssMb, f.after.rssMb, f.rssGrowthMb],
        ['heap used after gc, MB', f.before.heapUsedMb, f.after.heapUsedMb, f.heapGrowthMb],
        ['open file descriptors', f.fdsBefore, f.fdsAfter, f.fdsAfter - f.fdsBefore],
        [
          'active timers (Timeout)',
          f.before.active['Timeout'] ?? 0,
          f.after.active['Timeout'] ?? 0,
          `peak +${f.extraTimersPeak} during the flood`,
        ],
        ['allocations', 0, f.allocationsAfter, f.allocationsAfter],
      ],
    ),
    '',
    'Reflection: one source floods bare 20-byte requests (the best case for an amplifier) at a fixed rate. icegate answers a source that has not proved its address (no valid NONCE yet) from a per-IP token bucket (burst 32, 16 answers/s by default; a fixed table of 16,384 buckets, no timers) and drops the rest; its unauthenticated errors carry no SOFTWARE.',
    '',
    table(
      [
        'server',
        'request',
        'requests',
        'answered',
        'answer size, bytes',
        'bytes out / bytes in',
        'after the burst',
      ],
      reflections.map((r) => [
        r.server,
        r.method === 'allocate' ? 'Allocate (→ 401)' : 'Binding',
        thousands(r.requests),
        thousands(r.answered),
        r.answerSize,
        r.ratio,
        r.ratioAfterBurst,
      ]),
    ),
  ].join('\n');
}

/** Markdown of the tenant flood. */
export function tenantMarkdown(r: TenantFloodResult): string {
  return [
    `Tenant A (allocation quota ${r.flooder.quota}) sent ${thousands(r.flooder.requests)} authenticated requests while tenant B relayed with turnutils_uclient (${r.victim.clients} clients × ${r.victim.messages} messages of 160 bytes, every 20 ms), ${r.seconds} s in all:`,
    '',
    table(
      ['tenant A request', 'answer', 'count'],
      Object.entries(r.flooder.answers)
        .sort()
        .map(([k, v]) => {
          const at = k.lastIndexOf(' ');
          return [k.slice(0, at), k.slice(at + 1), thousands(v)];
        }),
    ),
    '',
    `Tenant B: ${thousands(r.victim.sent)} sent, ${thousands(r.victim.received)} received, **${r.victim.lost} lost**, average round trip ${r.victim.averageRttMs ?? '?'} ms.`,
  ].join('\n');
}
