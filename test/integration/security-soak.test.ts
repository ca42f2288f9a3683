// A short soak of the whole service (issue 7; 10 minutes in `npm run stress`): startIcegate over
// PostgreSQL and Redis, paced relaying with allocations created and ending continuously (Refresh
// 0, silent expiry, TCP close); afterwards no allocation, no relay socket, no bound relay port, no
// fleet-ledger entry, no remembered UDP client and no extra file descriptor is left, nothing was
// lost, and memory is back.
import { describe, expect, it } from 'vitest';
import { soak } from '../../stress/lib/soak.js';
import { PORTS } from '../helpers/ports.js';

describe('soak (short run)', () => {
  it('returns to its baseline after allocations come and go for 12 s', async () => {
    const result = await soak({
      ports: PORTS.securitySoak,
      durationMs: 12_000,
      lifetime: 4,
      callers: 8,
      talkMs: 1_000,
      sampleMs: 3_000,
    });
    expect(result.allocations.created).toBeGreaterThan(30);
    expect(Object.values(result.allocations.endedBy).every((n) => n > 0)).toBe(true);
    expect(result.end.allocations).toBe(0);
    expect(result.end.relaySockets).toBe(0);
    expect(result.end.udpClients).toBe(result.baseline.udpClients);
    expect(result.busyRelayPorts).toEqual([]);
    expect(result.fdsDelta).toBeLessThanOrEqual(0);
    expect(result.packets.lost).toBe(0);
    expect(result.heapDeltaMb).toBeLessThan(8);
    expect(result.rssDeltaMb).toBeLessThan(30);
    expect(Object.values(result.ledger).every((n) => n === 0)).toBe(true);
    expect(result.errorsLogged).toEqual([]);
  }, 90_000);
});
