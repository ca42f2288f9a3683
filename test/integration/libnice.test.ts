// libnice through icegate (issue 16 point 3): two libnice 0.1.21 agents (the ICE library of
// GStreamer and Janus) that may use relayed candidates only get credentials from
// POST /v1/ice-servers, allocate on icegate over UDP, TCP or TLS, run ICE relay to relay and
// exchange numbered messages both ways; none may be lost.
//
// Who refreshes what, and when (docs/ice-stacks.md has the sources):
// - libnice: allocation Refresh at lifetime - 60 s (over 120 s) or at half the lifetime;
//   CreatePermission once per peer, then after each fixed 240 s timer; ChannelBind to the selected
//   peer, renewed after a fixed 540 s; Send indications until ICE selects the pair, then channels.
//   The long call below sees it: one CreatePermission and one ChannelBind, a Refresh every 3 s.
// - coturn's uclient: Refresh (LIFETIME 600), CreatePermission and ChannelBind together every 30 s.
// - werift and aioice: Refresh at 5/6 of the lifetime, ChannelBind about every 500 s, never
//   CreatePermission.
// - Chromium: CreatePermission at first contact, then ChannelBind every 240 s once bound.
// libnice has no TURN over TLS in RFC 5245 mode (its TURN_TLS is plain TCP there): the call script
// carries its TURN connections over verified TLS to icegate's TLS listener itself.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GateNode, startGateNode } from '../helpers/gate-node.js';
import { iceServers, type LibniceResult, requestTimeline, runLibniceCall } from '../helpers/libnice.js';
import { PORTS } from '../helpers/ports.js';

let gate: GateNode;

beforeAll(async () => {
  gate = await startGateNode({ relayMin: PORTS.libnice.relayMin, relayMax: PORTS.libnice.relayMax });
}, 30_000);

afterAll(async () => {
  await gate?.close();
});

function expectNoLoss(result: LibniceResult, minimum: number): void {
  for (const direction of [result.aToB, result.bToA]) {
    expect(direction.sent).toBeGreaterThanOrEqual(minimum);
    expect(direction.lost).toBe(0);
    expect(direction.received).toBe(direction.sent);
    expect(direction.duplicates).toBe(0);
  }
  expect(result.sendFailures).toBe(0);
}

describe('libnice relays through icegate', () => {
  for (const transport of ['udp', 'tcp', 'tls'] as const) {
    it(`over ${transport.toUpperCase()}`, async () => {
      const entry = await iceServers(gate.url, gate.token());
      const before = gate.host.record.created.length;
      const result = await runLibniceCall({ entry, transport, seconds: 2, tlsCa: gate.cert.certFile });
      expectNoLoss(result, 90);
      // Both agents gathered only relay candidates, in icegate's relay range, and used them.
      for (const side of ['A', 'B'] as const) {
        expect(result.candidates[side].length).toBeGreaterThan(0);
        for (const c of result.candidates[side]) {
          expect(c.type).toBe('relay');
          expect(c.port).toBeGreaterThanOrEqual(PORTS.libnice.relayMin);
          expect(c.port).toBeLessThanOrEqual(PORTS.libnice.relayMax);
        }
      }
      const created = gate.host.record.created.slice(before);
      expect(created.length).toBe(2);
      expect(created.map((a) => a.tuple.transport)).toEqual([transport, transport]);
      if (transport === 'tls') expect(result.tlsVersions).toEqual(['TLSv1.3', 'TLSv1.3']);
      for (const a of created) {
        expect(a.traffic.toPeerPackets).toBeGreaterThanOrEqual(90);
        expect(a.traffic.toClientPackets).toBeGreaterThanOrEqual(90);
      }
    });
  }
});

/**
 * Shortened lifetimes for the long call: a permission lives 3 s, an allocation 6 s (libnice
 * refreshes it at half its lifetime when it is 120 s or less), a channel the default 600 s.
 */
const LONG_LIMITS = { permissionLifetime: 3, defaultLifetime: 6, maxLifetime: 6 } as const;
/** Four permission lifetimes, two allocation lifetimes. */
const LONG_CALL_S = 12;

describe('a libnice call through icegate outlives its permissions (shortened lifetimes)', () => {
  let longGate: GateNode;

  beforeAll(async () => {
    longGate = await startGateNode({
      relayMin: PORTS.libniceLong.relayMin,
      relayMax: PORTS.libniceLong.relayMax,
      limits: LONG_LIMITS,
    });
  }, 30_000);

  afterAll(async () => {
    await longGate?.close();
  });

  it('loses nothing over UDP, TCP and TLS across four permission lifetimes', async () => {
    const entry = await iceServers(longGate.url, longGate.token());
    const start = Date.now();
    // The three calls run side by side to keep the suite short.
    const results = await Promise.all(
      (['udp', 'tcp', 'tls'] as const).map((transport) =>
        runLibniceCall({ entry, transport, seconds: LONG_CALL_S, tlsCa: longGate.cert.certFile }),
      ),
    );
    for (const result of results) expectNoLoss(result, LONG_CALL_S * 45);
    const created = longGate.host.record.created;
    expect(created.map((a) => a.tuple.transport).sort()).toEqual(['tcp', 'tcp', 'tls', 'tls', 'udp', 'udp']);
    expect(longGate.host.record.deleted.filter((d) => d.reason === 'expired')).toEqual([]);

    // What libnice sent, per client: one CreatePermission and one ChannelBind (it renews them only
    // at 240 s and 540 s), and an allocation Refresh every 3 s. The channel kept the permission.
    const timeline = requestTimeline(longGate.host.record.answered, start);
    expect(Object.keys(timeline)).toHaveLength(6);
    for (const methods of Object.values(timeline)) {
      expect(methods['Allocate']).toHaveLength(1);
      expect(methods['CreatePermission']).toHaveLength(1);
      expect(methods['ChannelBind']).toHaveLength(1);
      expect(methods['Refresh']?.length).toBeGreaterThanOrEqual(LONG_CALL_S / 3);
    }
  }, 60_000);
});
