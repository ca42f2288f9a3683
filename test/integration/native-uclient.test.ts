// TURN_DATA_PLANE=native in a whole node (issue 9), against coturn's own test client:
// turnutils_uclient relays through icegate to turnutils_peer (an echo peer) in channel mode, in
// Send-indication mode and with EVEN-PORT/RESERVATION-TOKEN pairs, with a bounded paced load and
// no loss; the plane's counters show the native side carried it — in channel mode all of it, both
// directions, on the data threads, with uclient's RFC 5766 channel numbers above 0x4FFF, and no
// allocation moved to the JS path — and the relayed-bytes metric counts exactly the payload bytes
// of both directions (native traffic collected on the tick and when an allocation ends, Send
// indications not counted twice).
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NativePlaneCounters } from '../../src/transport/native/index.js';
import { PORTS } from '../helpers/ports.js';
import { runUclient, uclientSummary } from '../helpers/uclient.js';
import { scrapeSum, startPeer } from './drain-harness.js';
import {
  announceSkip,
  NATIVE_TURN_SECRET,
  NATIVE_UNAVAILABLE,
  type NativeNode,
  startNativeNode,
  until,
} from './native-harness.js';

const PEER_PORT = PORTS.nativeUclient.peer;
const CLIENTS = 10;
const MESSAGES = 200;
const LENGTH = 160;
/** Payload bytes of one run: every message goes to the peer and comes back. */
const RUN_BYTES = 2 * CLIENTS * MESSAGES * LENGTH;

announceSkip('native-uclient.test.ts');

let native: NativeNode;
let peer: ChildProcess;

beforeAll(async () => {
  if (NATIVE_UNAVAILABLE !== null) return;
  native = await startNativeNode(PORTS.nativeUclient);
  peer = await startPeer(PEER_PORT);
}, 30_000);

afterAll(async () => {
  peer?.kill('SIGKILL');
  await native?.close();
});

function run(flags: string[]) {
  return runUclient({
    secret: NATIVE_TURN_SECRET,
    port: native.turnPort,
    peerPort: PEER_PORT,
    flags: [...flags, '-X'],
    clients: CLIENTS,
    messages: MESSAGES,
  });
}

/** Allocations the native sink moved to the JS path so far. */
function movedToJs(): number {
  return native.node.relay.native?.movedToJs ?? 0;
}

/** Client -> peer datagrams the data threads sent (without what the core sent through the plane). */
function threadsSentToPeer(): number {
  return native.plane.info().workers.reduce((sum, w) => sum + w.sentToPeer, 0);
}

/** Records the channel numbers the sink pushes to the plane while `body` runs. */
async function recordingChannels<T>(body: () => Promise<T>): Promise<{ result: T; channels: Set<number> }> {
  const plane = native.plane;
  const original = plane.setChannels;
  const channels = new Set<number>();
  plane.setChannels = (relayId, bindings) => {
    for (const b of bindings) channels.add(b.channel);
    original.call(plane, relayId, bindings);
  };
  try {
    return { result: await body(), channels };
  } finally {
    plane.setChannels = original;
  }
}

/**
 * What a channel-mode run of uclient must show in the plane: every message both ways on the data
 * threads — peer -> client as ChannelData built by the plane, client -> peer sent by a data thread
 * (not the core through sendFromRelay) — no allocation moved to JS, and JS given only STUN.
 */
function expectFullyNative(
  before: NativePlaneCounters,
  after: NativePlaneCounters,
  threadsBefore: number,
  moved: number,
) {
  expect(moved).toBe(0);
  expect(after.sentChannelData - before.sentChannelData).toBe(CLIENTS * MESSAGES);
  expect(threadsSentToPeer() - threadsBefore).toBe(CLIENTS * MESSAGES);
  expect(after.sentToPeer - before.sentToPeer).toBe(CLIENTS * MESSAGES);
  // Allocate, ChannelBind, Refresh...: a few requests per client, never the data.
  expect(after.handedToControl - before.handedToControl).toBeLessThan(CLIENTS * 20);
  expect(after.droppedUnboundChannel - before.droppedUnboundChannel).toBe(0);
}

/** Relayed payload bytes, both directions, as Prometheus shows them. */
function relayedBytes(): Promise<number> {
  return scrapeSum(native.metricsUrl, 'icegate_relayed_bytes_total');
}

/** Waits until every allocation of the run has ended (uclient deletes its own; probes expire later). */
async function settled(bytesBefore: number): Promise<number> {
  await until(async () => (await relayedBytes()) >= bytesBefore + RUN_BYTES, 10_000, 'relayed bytes');
  return (await relayedBytes()) - bytesBefore;
}

describe.skipIf(NATIVE_UNAVAILABLE !== null)(
  'turnutils_uclient through icegate, TURN_DATA_PLANE=native',
  () => {
    it('runs the native data plane (not the JS fallback)', async () => {
      expect(native.node.relay.native).not.toBeNull();
      expect(native.logger.matching('native data plane unavailable')).toHaveLength(0);
      // ICEGATE_NATIVE_SCALING=adaptive (the default): one data thread until the load needs more.
      expect(native.node.relay.native === null ? 0 : native.plane.info().active).toBe(1);
      expect(await scrapeSum(native.metricsUrl, 'icegate_native_data_threads_active')).toBe(1);
    });

    it('relays in channel mode with no loss, fully native: ChannelData both ways on the data threads', async () => {
      const before = native.counters();
      const threadsBefore = threadsSentToPeer();
      const movedBefore = movedToJs();
      const bytesBefore = await relayedBytes();
      const { result, channels } = await recordingChannels(() => run(['-c']));
      const numbers = uclientSummary(result.output);
      expect(numbers).toEqual({ lost: 0, sent: CLIENTS * MESSAGES, received: CLIENTS * MESSAGES });
      const after = native.counters();
      // uclient picks channel numbers from RFC 5766's 0x4000-0x7FFF, nearly all above 0x4FFF; the
      // plane takes them all, so no allocation left the native path.
      expect([...channels].some((c) => c > 0x4fff)).toBe(true);
      expect([...channels].every((c) => c >= 0x4000 && c <= 0x7fff)).toBe(true);
      expectFullyNative(before, after, threadsBefore, movedToJs() - movedBefore);
      expect(await settled(bytesBefore)).toBe(RUN_BYTES);
    });

    it('relays with Send and Data indications (-s) with no loss, counted once', async () => {
      const before = native.counters();
      const bytesBefore = await relayedBytes();
      const result = await run(['-c', '-s']);
      const numbers = uclientSummary(result.output);
      expect(numbers).toEqual({ lost: 0, sent: CLIENTS * MESSAGES, received: CLIENTS * MESSAGES });
      const after = native.counters();
      // Peer -> client as Data indications, built by the plane.
      expect(after.sentDataIndication - before.sentDataIndication).toBe(CLIENTS * MESSAGES);
      // Client -> peer Send indications were relayed (by the plane or by the core through it) and
      // are in the metric once.
      expect(await settled(bytesBefore)).toBe(RUN_BYTES);
    });

    it('gives RTP/RTCP pairs with EVEN-PORT and RESERVATION-TOKEN (no -c) with no loss, natively', async () => {
      const before = native.counters();
      const threadsBefore = threadsSentToPeer();
      const movedBefore = movedToJs();
      const linesBefore = native.logger.lines.length;
      const result = await run([]);
      const numbers = uclientSummary(result.output);
      expect(numbers.lost).toBe(0);
      expect(numbers.received).toBe(CLIENTS * MESSAGES);
      const after = native.counters();
      expectFullyNative(before, after, threadsBefore, movedToJs() - movedBefore);
      // RTP allocations ask for an even relay port with the next one reserved (EVEN-PORT with R);
      // RTCP allocations claim that reservation with RESERVATION-TOKEN and get port + 1.
      const ports = new Set(
        native.logger.lines
          .slice(linesBefore)
          .filter((l) => l.message === 'allocation started')
          .map((l) => Number(String(l.fields.relayed).split(':').at(-1))),
      );
      const pairs = [...ports].filter((port) => port % 2 === 0 && ports.has(port + 1));
      expect(pairs.length).toBeGreaterThanOrEqual(5);
    });

    it('keeps relaying with no loss while the data threads in use change under it', async () => {
      const threads = native.plane.info().threads;
      const bytesBefore = await relayedBytes();
      let moved = 0;
      let changes = 0;
      let active = 1;
      // What the ThreadScaler does when the load rises and falls, much faster: every 30 ms the
      // relays are moved between one thread and all of them while uclient's datagrams flow. A
      // datagram that reaches a thread which no longer owns its client goes to the TURN core,
      // which relays it itself; none may be lost or counted twice.
      const toggler = setInterval(() => {
        active = active === 1 ? threads : 1;
        moved += native.plane.setActiveThreads(active);
        changes += 1;
      }, 30);
      try {
        const result = await run(['-c']);
        expect(uclientSummary(result.output)).toEqual({
          lost: 0,
          sent: CLIENTS * MESSAGES,
          received: CLIENTS * MESSAGES,
        });
      } finally {
        clearInterval(toggler);
        native.plane.setActiveThreads(1); // as the node's own scaler left it
      }
      expect(changes).toBeGreaterThan(10);
      if (threads > 1) expect(moved).toBeGreaterThan(0);
      expect(await settled(bytesBefore)).toBe(RUN_BYTES);
    });
  },
);
