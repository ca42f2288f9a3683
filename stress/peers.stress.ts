// Peer filtering, side by side (issue 7): every encoding of every denied destination, through
// CreatePermission, ChannelBind, Send and ChannelData, over icegate's UDP, TCP and TLS listeners
// and over coturn 4.6.1 hardened as documented: icegate 0 bypasses, the control always delivered.
import { describe, expect, it } from 'vitest';
import { peerFilterSuite } from './lib/peer-suite.js';
import { bypasses } from './lib/peer-table.js';
import { writePart } from './lib/report.js';
import { STRESS_PORTS } from './lib/stress-ports.js';

describe('peer filtering', () => {
  it('icegate lets nothing through in any encoding; coturn is shown beside it', async () => {
    const result = await peerFilterSuite({ ports: STRESS_PORTS.peers, coturn: true });
    writePart({
      id: 'peers',
      title: 'Peer filtering (SSRF)',
      order: 2,
      passed: result.icegateBypasses === 0,
      markdown: result.markdown,
      data: result,
    });
    for (const outcomes of Object.values(result.icegate)) expect(bypasses(outcomes)).toEqual([]);
    expect(result.coturnBypasses).toBeGreaterThan(0);
  });
});
