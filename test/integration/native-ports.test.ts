// Relay ports of the native data plane (issue 9) follow the rules of the JS RelayPool: only ports
// of TURN_MIN_PORT..TURN_MAX_PORT, a port someone else holds is skipped for another one, EVEN-PORT
// gives an even port, EVEN-PORT with R holds the pair (RESERVATION-TOKEN claims port + 1), and 508
// once the range is used up; TCP clients keep JS relays. A 6-port range makes it exhaustive.
import dgram from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Attr } from '../../src/stun/index.js';
import { PORTS } from '../helpers/ports.js';
import { attributeOf, relayedAddress, TurnClient } from '../helpers/turn-client.js';
import {
  announceSkip,
  loopbackTurnClient,
  NATIVE_UNAVAILABLE,
  type NativeTestRelay,
  startNativeTestRelay,
} from './native-harness.js';

const { relayMin, relayMax } = PORTS.nativePorts;

announceSkip('native-ports.test.ts');

let relay: NativeTestRelay;
const clients: { close(): Promise<void> | void }[] = [];
const squatters: dgram.Socket[] = [];

beforeAll(async () => {
  if (NATIVE_UNAVAILABLE !== null) return;
  relay = await startNativeTestRelay(PORTS.nativePorts, 600);
});

afterAll(async () => {
  for (const s of squatters) s.close();
  await Promise.all(clients.map((c) => c.close()));
  await relay?.close();
});

function udpClient(): Promise<TurnClient> {
  return loopbackTurnClient(relay.port, relay.credential('acme'), clients);
}

/** Holds `port` with a plain socket, as another process might. */
async function squat(port: number): Promise<void> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, '127.0.0.1', () => resolve());
  });
  squatters.push(socket);
}

describe.skipIf(NATIVE_UNAVAILABLE !== null)('native relay ports', () => {
  it('keeps to the range, skips taken ports, honours EVEN-PORT and R, answers 508 when full', async () => {
    // Taken by someone else: the plane must go around them.
    await squat(relayMin + 1); // 28893
    await squat(relayMin + 4); // 28896
    const free = [relayMin, relayMin + 2, relayMin + 3, relayMin + 5];

    // EVEN-PORT with R: an even port whose successor is free too -> 28894 (+28895 reserved).
    const rtp = await udpClient();
    const paired = await rtp.allocate((b) => b.addEvenPort(true));
    expect(paired.code).toBe(200);
    const rtpPort = relayedAddress(paired).port;
    expect(rtpPort).toBe(relayMin + 2);
    const token = attributeOf(paired, Attr.RESERVATION_TOKEN);
    expect(token).toBeDefined();
    expect(relay.host.native?.isNative(relay.created.at(-1)!.relayId)).toBe(true);

    // RESERVATION-TOKEN claims the odd twin.
    const rtcp = await udpClient();
    const claimed = await rtcp.allocate((b) => b.add(Attr.RESERVATION_TOKEN, token!));
    expect(claimed.code).toBe(200);
    expect(relayedAddress(claimed).port).toBe(rtpPort + 1);

    // EVEN-PORT without R: the only even port left is 28892.
    const even = await udpClient();
    const evenAnswer = await even.allocate((b) => b.addEvenPort(false));
    expect(evenAnswer.code).toBe(200);
    expect(relayedAddress(evenAnswer).port).toBe(relayMin);

    // The last free port, then nothing: 508.
    const last = await udpClient();
    const lastAnswer = await last.allocate();
    expect(lastAnswer.code).toBe(200);
    const used = [rtpPort, rtpPort + 1, relayMin, relayedAddress(lastAnswer).port].sort();
    expect(used).toEqual([...free].sort());
    const refused = await udpClient();
    expect((await refused.allocate()).code).toBe(508);

    // A released port can be had again.
    expect((await last.refresh(0)).code).toBe(200);
    const again = await udpClient();
    let answer = await again.allocate();
    for (let i = 0; i < 50 && answer.code === 508; i++) {
      // The data thread closes the socket a moment after the core forgot it.
      await new Promise((resolve) => setTimeout(resolve, 20));
      answer = await again.allocate();
    }
    expect(answer.code).toBe(200);
    expect(relayedAddress(answer).port).toBe(relayMin + 5);
    expect(relayMax).toBe(relayMin + 5);
  });

  it("gives TCP clients native relays on the TCP listener's own plane (issue 19)", async () => {
    for (const c of clients.splice(0)) await c.close();
    for (const a of relay.host.core.listAllocations()) relay.host.core.closeAllocation(a.id);
    const tcp = await relay.host.listenTcp('127.0.0.1', 0);
    const { username, password } = relay.credential('acme');
    const stream = await TurnClient.open({
      transport: 'tcp',
      address: '127.0.0.1',
      port: tcp.address.port,
      username,
      password,
    });
    clients.push(stream);
    expect((await stream.allocate()).code).toBe(200);
    const allocation = relay.created.at(-1)!;
    expect(allocation.tuple.transport).toBe('tcp');
    // ICEGATE_NATIVE_STREAMS=js keeps TCP on the JS listener, whose clients get RelayPool sockets.
    const nativeStreams = process.env.ICEGATE_NATIVE_STREAMS !== 'js';
    expect(relay.host.native?.isNative(allocation.relayId)).toBe(nativeStreams);
  });
});
