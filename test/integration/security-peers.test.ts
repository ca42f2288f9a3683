// Peer filtering in every encoding (issue 7), short run: icegate with production peer filtering
// (no loopback allowance; its own addresses denied) refuses every denied destination through
// CreatePermission and ChannelBind (403) over UDP, TCP and TLS, and neither Send indications nor
// ChannelData reach the loopback sinks, while the allowed control (127.0.0.2) gets through.
// The coturn comparison runs in `npm run stress`.
import { describe, expect, it } from 'vitest';
import { peerFilterSuite } from '../../stress/lib/peer-suite.js';
import { bypasses } from '../../stress/lib/peer-table.js';
import { PORTS } from '../helpers/ports.js';

describe('peer filtering in every encoding', () => {
  it('has 0 bypasses over UDP, TCP and TLS, and the allowed control relays', async () => {
    const result = await peerFilterSuite({ ports: PORTS.securityPeers, coturn: false });
    for (const [transport, outcomes] of Object.entries(result.icegate)) {
      expect(bypasses(outcomes), transport).toEqual([]);
      const control = outcomes.find((o) => o.case.control === true)!;
      expect(control.createPermission).toBe(200);
      expect(control.delivered).toBe(2);
      for (const o of outcomes.filter((x) => x.case.control !== true)) {
        expect(
          [o.createPermission, o.channelBind, o.delivered, o.relayed],
          `${transport} ${o.case.address}`,
        ).toEqual([403, 403, 0, 0]);
      }
    }
    expect(result.icegateBypasses).toBe(0);
  });
});
