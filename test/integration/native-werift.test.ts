// Two werift peers with iceTransportPolicy 'relay' through icegate's native data plane (issue 9),
// as test/integration/werift.test.ts does on the JS path: a data channel kept up for longer than
// one allocation lifetime, so werift refreshes and icegate answers while the plane relays.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RTCPeerConnection } from 'werift';
import { PORTS } from '../helpers/ports.js';
import { connectDataChannel, relayOnlyPeer } from '../helpers/werift-channel.js';
import {
  announceSkip,
  NATIVE_UNAVAILABLE,
  type NativeTestRelay,
  startNativeTestRelay,
} from './native-harness.js';

/** Allocation lifetime granted to werift: it refreshes after 5 s. */
const LIFETIME = 6;
/** How long the peers talk: past the first refresh and past the original expiry. */
const TALK_MS = 8_500;

announceSkip('native-werift.test.ts');

let relay: NativeTestRelay;
const peers: RTCPeerConnection[] = [];

beforeAll(async () => {
  if (NATIVE_UNAVAILABLE !== null) return;
  relay = await startNativeTestRelay(PORTS.nativeWerift, LIFETIME);
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

describe.skipIf(NATIVE_UNAVAILABLE !== null)('werift through icegate, TURN_DATA_PLANE=native', () => {
  it('keeps a relayed data channel up across an allocation refresh', async () => {
    const offerer = relayPeer();
    const answerer = relayPeer();
    const { local, remote: channel } = await connectDataChannel(offerer, answerer);
    channel.onMessage.subscribe((data) => channel.send(data));
    const echoed: string[] = [];
    local.onMessage.subscribe((data) => {
      echoed.push(data.toString());
    });

    const before = relay.plane.counters();
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
    expect(relay.created.length).toBeGreaterThanOrEqual(2);
    // The plane carried the peer data (werift sends Send indications or ChannelData; either way
    // what comes back from the other relay is built natively).
    const after = relay.plane.counters();
    const toClients =
      after.sentChannelData - before.sentChannelData + (after.sentDataIndication - before.sentDataIndication);
    expect(toClients).toBeGreaterThanOrEqual(2 * sent);
    expect(relay.host.native?.movedToJs).toBe(0);
    // Relayed traffic is accounted from the plane's counters: both directions of some allocation.
    const relayed = relay.created.filter((a) => a.traffic.toPeerPackets > 0 && a.traffic.toClientPackets > 0);
    expect(relayed.length).toBeGreaterThanOrEqual(1);
    expect(relay.refreshed.length).toBeGreaterThanOrEqual(2);
    expect(relay.refreshed.every((lifetime) => lifetime === LIFETIME)).toBe(true);
    expect(relay.deleted.filter((reason) => reason === 'expired')).toHaveLength(0);
  });
});
