// Before a measured run: relay a bounded burst of traffic through the server once, so the run
// measures the steady data path, not a runtime's first compilations. A JIT runtime (icegate, the
// floor) spends its first few thousand packets interpreting and optimising the relay functions;
// coturn, compiled ahead of time, needs nothing but gets the same burst, so all servers are
// treated alike. First `allocations` short sessions (Allocate with the 401 dance, ChannelBind, a
// few packets, Refresh with LIFETIME 0), so the control path is compiled too; then one
// allocation with a channel to the run's own echoing turnutils_peer carries a burst of
// ChannelData both ways and a few Send indications, and is deleted.
import { sleep } from './child-processes.mjs';
import {
  Attr,
  buildMessage,
  MessageClass,
  Method,
  newTransactionId,
  REQUESTED_TRANSPORT_UDP,
  u32,
  xorAddressV4,
} from './stun-wire.mjs';
import { TurnClient } from './turn-client.mjs';

const CHANNEL = 0x4002;
const ALLOCATE_ATTRIBUTES = () => [
  [Attr.requestedTransport, REQUESTED_TRANSPORT_UDP],
  [0x0017, REQUESTED_ADDRESS_FAMILY_V4],
];
const REQUESTED_ADDRESS_FAMILY_V4 = Buffer.from([0x01, 0, 0, 0]);

/**
 * Sends `messages` ChannelData messages of `length` bytes through `server` to the echo peer at
 * 127.0.0.1:`peerPort`, `burst` at a time, waiting for echoes between bursts (at most
 * `timeLimitMs` in all). Resolves to {sent, echoed, ms}; never throws (a server that cannot do
 * this is reported by the probe, not here).
 */
export async function warmUp(
  server,
  credential,
  peerPort,
  { messages = 20_000, length = 120, burst = 100, allocations = 20, timeLimitMs = 8_000 } = {},
) {
  const started = performance.now();
  for (let i = 0; i < allocations && performance.now() - started < timeLimitMs / 2; i++) {
    await shortSession(server, credential, peerPort, length);
  }
  let client = null;
  let sent = 0;
  let echoed = 0;
  try {
    let peer;
    ({ client, peer } = await openChannel(server, credential, peerPort, () => {
      echoed++;
    }));
    const payload = Buffer.alloc(length, 0x61);
    for (let i = 0; i < 50; i++) {
      client.sendRaw(
        buildMessage(Method.send | MessageClass.indication, newTransactionId(), [peer, [Attr.data, payload]]),
      );
    }
    const frame = channelFrame(length, 0x62);
    while (sent < messages && performance.now() - started < timeLimitMs) {
      for (let i = 0; i < burst; i++) client.sendRaw(frame);
      sent += burst;
      // Let the echoes come back before the next burst, so nothing is lost to full buffers.
      const target = echoed + burst / 2;
      const waitStart = performance.now();
      while (echoed < target && performance.now() - waitStart < 50) await sleep(1);
    }
    await sleep(100);
    await client.request(Method.refresh, [[Attr.lifetime, u32(0)]]).catch(() => {});
  } catch {
    // Reported by the probe; the measured run will show it too.
  } finally {
    client?.close();
  }
  return { sent, echoed, ms: Math.round(performance.now() - started) };
}

/** One allocation's life in brief: Allocate, ChannelBind, ten packets each way, Refresh 0. */
async function shortSession(server, credential, peerPort, length) {
  let client = null;
  try {
    ({ client } = await openChannel(server, credential, peerPort, () => {}));
    const frame = channelFrame(length, 0x63);
    for (let i = 0; i < 10; i++) client.sendRaw(frame);
    await sleep(20);
    await client.request(Method.refresh, [[Attr.lifetime, u32(0)]]);
  } catch {
    // As in warmUp: the probe and the measured run report failures.
  } finally {
    client?.close();
  }
}

/**
 * A client with an allocation (made as uclient makes it) and CHANNEL bound to the echo peer; its
 * data goes to `onData`. Closes the client and rethrows when a step fails.
 */
async function openChannel(server, credential, peerPort, onData) {
  const client = await TurnClient.open(server, credential, { rtoMs: 300, retransmits: 2 });
  client.onData = onData;
  try {
    await client.request(Method.allocate, ALLOCATE_ATTRIBUTES());
    const peer = [Attr.xorPeerAddress, xorAddressV4('127.0.0.1', peerPort)];
    await client.request(Method.channelBind, [[Attr.channelNumber, u32(CHANNEL << 16)], peer]);
    return { client, peer };
  } catch (err) {
    client.close();
    throw err;
  }
}

/** A ChannelData message on CHANNEL carrying `length` bytes of `fill`. */
function channelFrame(length, fill) {
  const frame = Buffer.alloc(4 + length, fill);
  frame.writeUInt16BE(CHANNEL, 0);
  frame.writeUInt16BE(length, 2);
  return frame;
}
