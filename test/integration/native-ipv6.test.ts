// TURN_DATA_PLANE=native on a dual-stack listener (issue 9): a node listening on `::` with an IPv4
// and an IPv6 relay address serves IPv4 clients (seen as ::ffff:a.b.c.d by the socket, IPv4 to
// TURN) and IPv6 clients through its native plane, and dual allocations (ADDITIONAL-ADDRESS-FAMILY:
// an IPv4 and an IPv6 relay for one client, both native) through the same listener; coturn's
// uclient loses nothing in each case.
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PORTS } from '../helpers/ports.js';
import { runUclient, uclientSummary } from '../helpers/uclient.js';
import {
  announceSkip,
  NATIVE_TURN_SECRET,
  NATIVE_UNAVAILABLE,
  type NativeNode,
  startNativeNode,
} from './native-harness.js';

const PEER_PORT = PORTS.nativeIpv6.peer;
const CLIENTS = 5;
const MESSAGES = 100;

announceSkip('native-ipv6.test.ts');

let native: NativeNode;
let peer: ChildProcess;

beforeAll(async () => {
  if (NATIVE_UNAVAILABLE !== null) return;
  native = await startNativeNode(PORTS.nativeIpv6, {
    TURN_LISTEN_IP: '::',
    TURN_RELAY_IP: '127.0.0.1',
    TURN_EXTERNAL_IP: '127.0.0.1',
    TURN_RELAY_IP6: '::1',
  });
  peer = spawn('turnutils_peer', ['-L', '::1', '-L', '127.0.0.1', '-p', String(PEER_PORT)], {
    stdio: 'ignore',
  });
  await new Promise((resolve) => setTimeout(resolve, 300));
}, 30_000);

afterAll(async () => {
  peer?.kill('SIGKILL');
  await native?.close();
});

async function relay(server: string, peerIp: string, flags: string[]) {
  const before = native.counters();
  const result = await runUclient({
    secret: NATIVE_TURN_SECRET,
    server,
    port: native.turnPort,
    peer: peerIp,
    peerPort: PEER_PORT,
    flags: [...flags, '-X'],
    clients: CLIENTS,
    messages: MESSAGES,
  });
  const numbers = uclientSummary(result.output);
  expect(numbers).toEqual({ lost: 0, sent: CLIENTS * MESSAGES, received: CLIENTS * MESSAGES });
  const after = native.counters();
  return {
    dataIndications: after.sentDataIndication - before.sentDataIndication,
    channelData: after.sentChannelData - before.sentChannelData,
    sentToPeer: after.sentToPeer - before.sentToPeer,
    movedToJs: native.node.relay.native?.movedToJs ?? 0,
  };
}

describe.skipIf(NATIVE_UNAVAILABLE !== null)('TURN_DATA_PLANE=native listening on ::', () => {
  it('relays an IPv4 client (on the dual-stack socket) to an IPv4 peer natively', async () => {
    const { dataIndications } = await relay('127.0.0.1', '127.0.0.1', ['-c', '-s']);
    expect(dataIndications).toBe(CLIENTS * MESSAGES);
  });

  it('relays an IPv6 client to an IPv6 peer through an IPv6 relay (-x) natively', async () => {
    const { dataIndications } = await relay('::1', '::1', ['-c', '-s', '-x']);
    expect(dataIndications).toBe(CLIENTS * MESSAGES);
  });

  it('relays dual allocations (-Z) natively with no loss: Send/Data indications to an IPv6 peer', async () => {
    // Dual allocations used to get JS relays (RelayPool sockets): none may be opened now.
    let jsRelays = 0;
    const pool = native.node.relay.relays;
    const original = pool.bind.bind(pool);
    pool.bind = (...args: Parameters<typeof pool.bind>) => {
      jsRelays += 1;
      return original(...args);
    };
    const { dataIndications, sentToPeer } = await relay('::1', '::1', ['-c', '-s', '-Z']).finally(() => {
      pool.bind = original;
    });
    // Both directions on the plane: the IPv6 relay of each dual allocation built the Data
    // indications and sent the Send indications' data.
    expect(dataIndications).toBe(CLIENTS * MESSAGES);
    expect(sentToPeer).toBe(CLIENTS * MESSAGES);
    expect(jsRelays).toBe(0);
  });

  it('relays dual allocations (-Z) natively with no loss: channels to an IPv4 peer', async () => {
    const movedBefore = native.node.relay.native?.movedToJs ?? 0;
    const { channelData, sentToPeer, movedToJs } = await relay('127.0.0.1', '127.0.0.1', ['-c', '-Z']);
    expect(channelData).toBe(CLIENTS * MESSAGES);
    expect(sentToPeer).toBe(CLIENTS * MESSAGES);
    expect(movedToJs).toBe(movedBefore);
  });
});
