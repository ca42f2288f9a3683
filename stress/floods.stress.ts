// Floods, long run (issue 7): 200,000 unauthenticated Allocates from 200 source ports (RSS within
// 20 MB, no per-request timer); reflection of one spoofed source held under 1 byte out per byte
// in (coturn shown beside it); one tenant flooding into its quotas while another relays losslessly.
import { describe, expect, it } from 'vitest';
import { preauthMarkdown, tenantMarkdown } from './lib/flood-report.js';
import { preauthFlood, reflection } from './lib/preauth.js';
import { writePart } from './lib/report.js';
import { STRESS_PORTS } from './lib/stress-ports.js';
import { tenantFlood } from './lib/tenant-flood.js';

const REQUESTS = Number(process.env['STRESS_PREAUTH_REQUESTS'] ?? 200_000);

describe('floods', () => {
  it('before authentication: no memory, no timer per request, no amplification', async () => {
    const flood = await preauthFlood({ ports: STRESS_PORTS.floods, requests: REQUESTS, sockets: 200 });
    const reflections = await reflection({
      ports: STRESS_PORTS.floods,
      requests: 20_000,
      ratePerSecond: 5_000,
      coturnPort: STRESS_PORTS.peers.peer,
    });
    const ours = reflections.filter((r) => r.server === 'icegate');
    const passed =
      flood.answered >= REQUESTS * 0.99 &&
      flood.rssGrowthMb < 20 &&
      flood.extraTimersPeak <= 1 &&
      ours.every((r) => r.ratio <= 1 && r.ratioAfterBurst <= 1);
    writePart({
      id: 'preauth',
      title: 'Before authentication: flood and reflection',
      order: 3,
      passed,
      markdown: preauthMarkdown(flood, reflections),
      data: { flood, reflections },
    });
    expect(flood.requests).toBe(REQUESTS);
    expect(flood.answered).toBeGreaterThanOrEqual(REQUESTS * 0.99);
    expect(flood.rssGrowthMb).toBeLessThan(20);
    expect(flood.extraTimersPeak).toBeLessThanOrEqual(1);
    expect(flood.fdsAfter).toBe(flood.fdsBefore);
    for (const r of ours) {
      expect(r.ratio).toBeLessThanOrEqual(1);
      expect(r.ratioAfterBurst).toBeLessThanOrEqual(1);
    }
  });

  it('after authentication: one tenant hits its quotas, the other loses nothing', async () => {
    const result = await tenantFlood({ ports: STRESS_PORTS.floods, clients: 10, messages: 500 });
    const a = result.flooder.answers;
    writePart({
      id: 'tenants',
      title: 'After authentication: one tenant floods, another relays',
      order: 4,
      passed:
        result.victim.lost === 0 && (a['Allocate 486'] ?? 0) > 0 && (a['CreatePermission 508'] ?? 0) > 0,
      markdown: tenantMarkdown(result),
      data: result,
    });
    expect(result.victim.lost).toBe(0);
    expect(result.victim.received).toBe(result.victim.sent);
    expect(a['Allocate 200']).toBe(result.flooder.quota);
    expect(a['Allocate 486']).toBeGreaterThan(0);
    expect(a['CreatePermission 508']).toBeGreaterThan(0);
    expect(a['ChannelBind 508']).toBeGreaterThan(0);
    expect(a['CreatePermission (denied peer) 403']).toBeGreaterThan(0);
  });
});
