// The whole service under outages and a soak (issue 7), long run: Redis and PostgreSQL cut and
// restored under load; then 10 minutes (STRESS_SOAK_SECONDS) of paced relaying with allocations
// created and ending continuously, after which everything is back at its baseline.
import { describe, expect, it } from 'vitest';
import { outages } from './lib/outages.js';
import { writePart } from './lib/report.js';
import { outagesClean, outagesMarkdown, soakClean, soakMarkdown } from './lib/service-report.js';
import { soak } from './lib/soak.js';
import { STRESS_PORTS } from './lib/stress-ports.js';

const SOAK_SECONDS = Number(process.env['STRESS_SOAK_SECONDS'] ?? 600);
/** RSS and heap allowed above the baseline after the soak (V8 keeps some of the heap it grew). */
const LIMITS = { rssMb: 30, heapMb: 8 };

describe('the whole service', () => {
  it('outages of Redis and PostgreSQL under load', async () => {
    const result = await outages({ ports: STRESS_PORTS.outages, phaseMs: 10_000 });
    writePart({
      id: 'outages',
      title: 'Outages: Redis and PostgreSQL cut under load',
      order: 6,
      passed: outagesClean(result),
      markdown: outagesMarkdown(result),
      data: result,
    });
    expect(result.firstUncaught).toBeNull();
    expect(result.writes.importsMissingFromStore).toEqual([]);
    expect(result.writes.lastKeyWorks).toBe(true);
    expect(result.writes.earlierKeysRevoked).toBe(true);
    expect(result.liveAllocationsSurvived).toBe(true);
    expect(outagesClean(result)).toBe(true);
  });

  it(`a ${SOAK_SECONDS}-second soak returns to its baseline`, async () => {
    const result = await soak({
      ports: STRESS_PORTS.soak,
      durationMs: SOAK_SECONDS * 1000,
      lifetime: 30,
      callers: 24,
      talkMs: 5_000,
      sampleMs: 30_000,
    });
    writePart({
      id: 'soak',
      title: `Soak: ${Math.round(SOAK_SECONDS / 60)} minutes`,
      order: 7,
      passed: soakClean(result, LIMITS),
      markdown: soakMarkdown(result),
      data: result,
    });
    expect(result.end.allocations).toBe(0);
    expect(result.end.relaySockets).toBe(0);
    expect(result.end.udpClients).toBe(result.baseline.udpClients);
    expect(result.busyRelayPorts).toEqual([]);
    expect(result.fdsDelta).toBeLessThanOrEqual(0);
    expect(result.packets.lost).toBe(0);
    expect(result.rssDeltaMb).toBeLessThan(LIMITS.rssMb);
    expect(result.heapDeltaMb).toBeLessThan(LIMITS.heapMb);
    expect(Object.values(result.ledger).every((n) => n === 0)).toBe(true);
  });
});
