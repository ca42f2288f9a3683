// Two werift peers with iceTransportPolicy 'relay' open a data channel through icegate and keep
// exchanging messages for longer than one allocation lifetime, so werift must refresh (at 5/6
// of the granted lifetime) and icegate must answer its Refresh (issue 2).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RTCPeerConnection } from 'werift';
import { Method } from '../../src/stun/index.js';
import { PORTS } from '../helpers/ports.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';
import { connectDataChannel, relayOnlyPeer } from '../helpers/werift-channel.js';

/** Allocation lifetime granted to werift: it refreshes after 5 s. */
const LIFETIME = 6;
/** How long the peers talk: past the first refresh and past the original expiry. */
const TALK_MS = 8_500;

let relay: TestRelay;
const peers: RTCPeerConnection[] = [];

beforeAll(async () => {
  relay = await startTestRelay({
    secrets: ['werift-secret'],
    relayMin: PORTS.werift.relayMin,
    relayMax: PORTS.werift.relayMax,
    lifetime: LIFETIME,
  });
});

afterAll(async () => {
  await Promise.all(peers.map((pc) => pc.close()));
  await relay?.close();
});

function relayPeer(): RTCPeerConnection {
  const pc = relayOnlyPeer(relay.port, relay.credential('acme', 600));
  peers.push(pc);
  return pc;
}

describe('werift through icegate over UDP', () => {
  it('keeps a relayed data channel up across an allocation refresh', async () => {
    const offerer = relayPeer();
    const answerer = relayPeer();
    const { local, remote: channel } = await connectDataChannel(offerer, answerer);
    // Echo on the answerer side.
    channel.onMessage.subscribe((data) => channel.send(data));
    const echoed: string[] = [];
    local.onMessage.subscribe((data) => {
      echoed.push(data.toString());
    });

    const started = Date.now();
    let sent = 0;
    while (Date.now() - started < TALK_MS) {
      local.send(`ping ${sent++}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await new Promise((resolve) => setTimeout(resolve, 500));

    expect(sent).toBeGreaterThan(50);
    // SCTP is reliable, so all messages arrive; the last ones prove the relay outlived the
    // original expiry.
    expect(echoed).toHaveLength(sent);
    expect(echoed.at(-1)).toBe(`ping ${sent - 1}`);
    expect(relay.record.created.length).toBeGreaterThanOrEqual(2);
    // The data really went through relays (relay-only policy): both directions were counted.
    const relayed = relay.record.created.filter(
      (a) => a.traffic.toPeerPackets > 0 && a.traffic.toClientPackets > 0,
    );
    expect(relayed.length).toBeGreaterThanOrEqual(1);
    expect(relay.record.refreshed.length).toBeGreaterThanOrEqual(2);
    expect(relay.record.refreshed.every((r) => r.lifetime === LIFETIME)).toBe(true);
    expect(relay.record.deleted.filter((d) => d.reason === 'expired')).toHaveLength(0);
    expect(
      relay.record.answered.filter((a) => a.method === Method.Refresh && a.code === 200).length,
    ).toBeGreaterThan(0);
  });
});
