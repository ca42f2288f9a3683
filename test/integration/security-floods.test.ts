// Floods, short run (issue 7; the long run is `npm run stress`): unauthenticated Allocates from
// many source ports cost no memory and no timer per request; one spoofed source gets at most as
// many bytes back as it sends; one tenant flooding runs into 486/508/403 while another tenant's
// paced relaying through turnutils_uclient loses nothing.
import { describe, expect, it } from 'vitest';
import { preauthFlood, reflection } from '../../stress/lib/preauth.js';
import { tenantFlood } from '../../stress/lib/tenant-flood.js';
import { PORTS } from '../helpers/ports.js';

describe('floods (short run)', () => {
  it('20,000 unauthenticated Allocates from 50 ports: RSS within 20 MB, no per-request timer', async () => {
    const flood = await preauthFlood({ ports: PORTS.securityFloods, requests: 20_000, sockets: 50 });
    expect(flood.answered).toBeGreaterThanOrEqual(19_800);
    expect(flood.rssGrowthMb).toBeLessThan(20);
    expect(flood.extraTimersPeak).toBeLessThanOrEqual(1);
    expect(flood.allocationsAfter).toBe(0);
  });

  it('answers a flooding source at most one byte per byte it sends', async () => {
    const results = await reflection({ ports: PORTS.securityFloods, requests: 3_000, ratePerSecond: 3_000 });
    for (const r of results) {
      expect(r.answered, r.method).toBeLessThan(r.requests / 10);
      expect(r.ratio, r.method).toBeLessThanOrEqual(1);
      expect(r.ratioAfterBurst, r.method).toBeLessThanOrEqual(1);
    }
  });

  it('one tenant hits its quotas while another relays with no loss', async () => {
    const result = await tenantFlood({ ports: PORTS.securityFloods, clients: 5, messages: 150 });
    const a = result.flooder.answers;
    expect(result.victim.lost).toBe(0);
    expect(result.victim.sent).toBe(750);
    expect(a['Allocate 200']).toBe(result.flooder.quota);
    expect(a['Allocate 486']).toBeGreaterThan(0);
    expect(a['CreatePermission 508']).toBeGreaterThan(0);
    expect(a['CreatePermission (denied peer) 403']).toBeGreaterThan(0);
  });
});
