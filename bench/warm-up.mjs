// Before a measured run: relay a bounded burst of traffic through the server once, so the run
// measures the steady server, not a runtime's first compilations. A JIT runtime (icegate, the
// floor) spends its first few thousand packets and its first few thousand TURN transactions
// interpreting and optimising; coturn, compiled ahead of time, needs nothing but gets the same
// treatment, so all servers are treated alike. First `sessions` short sessions (Allocate with the
// 401 dance, ChannelBind, a few packets, Refresh with LIFETIME 0), `lanes` at a time, each from a
// loopback address of its own (127.2.0.0/16: one source address would measure icegate's
// per-source budget for unauthenticated requests instead), so the control path is compiled too;
// then one allocation with a channel to the run's own echoing turnutils_peer carries a burst of
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
 * Runs `sessions` short sessions (at most `sessionTimeLimitMs`), then sends `messages` ChannelData
 * messages of `length` bytes through `server` to the echo peer at 127.0.0.1:`peerPort`, `burst` at
 * a time, waiting for echoes between bursts (at most `timeLimitMs`). Resolves to {sessions,
 * sessionsOk, sent, echoed, ms}; never throws (a server that cannot do this is reported by the
 * probe, not here).
 */
export async function warmUp(
  server,
  credential,
  peerPort,
  {
    messages = 20_000,
    length = 120,
    burst = 100,
    sessions = DEFAULT_WARM_SESSIONS,
    lanes = 16,
    sessionTimeLimitMs = 15_000,
    timeLimitMs = 8_000,
  } = {},
) {
  const started = performance.now();
  let next = 0;
  let sessionsOk = 0;
  const lane = async () => {
    while (next < sessions && performance.now() - started < sessionTimeLimitMs) {
      const index = next++;
      if (await shortSession(server, credential, peerPort, length, sessionAddress(index))) sessionsOk++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(lanes, sessions) }, lane));
  const burstStarted = performance.now();
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
    while (sent < messages && performance.now() - burstStarted < timeLimitMs) {
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
  return { sessions: next, sessionsOk, sent, echoed, ms: Math.round(performance.now() - started) };
}

/** Short sessions before a measured run, unless the run says otherwise (`npm run bench -- --warm-sessions N`). */
export const DEFAULT_WARM_SESSIONS = 2_000;

/** The source address of short session `index`: 127.2.0.1 onwards, one per session. */
function sessionAddress(index) {
  const n = index + 1;
  return `127.2.${(n >> 8) & 255}.${n & 255}`;
}

/**
 * One allocation's life in brief, from `localAddress`: Allocate, ChannelBind, ten packets each
 * way, Refresh 0. True when every request was answered with success.
 */
async function shortSession(server, credential, peerPort, length, localAddress) {
  let client = null;
  try {
    ({ client } = await openChannel(server, credential, peerPort, () => {}, localAddress));
    const frame = channelFrame(length, 0x63);
    for (let i = 0; i < 10; i++) client.sendRaw(frame);
    await sleep(20);
    await client.request(Method.refresh, [[Attr.lifetime, u32(0)]]);
    return true;
  } catch {
    // As in warmUp: the probe and the measured run report failures.
    return false;
  } finally {
    client?.close();
  }
}

/**
 * A client with an allocation (made as uclient makes it) and CHANNEL bound to the echo peer; its
 * data goes to `onData`. Closes the client and rethrows when a step fails.
 */
async function openChannel(server, credential, peerPort, onData, localAddress = '127.0.0.1') {
  const client = await TurnClient.open(server, credential, { rtoMs: 300, retransmits: 2, localAddress });
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
