// startTurnUdp end to end over loopback with the test client: relaying both ways over real
// sockets, IPv6 relays, a throwing event handler, and close().
import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { Attr } from '../../../src/stun/index.js';
import { PORTS } from '../../helpers/ports.js';
import { startTestRelay, type TestRelay } from '../../helpers/relay.js';
import { relayedAddress, TurnClient } from '../../helpers/turn-client.js';

const BASE = PORTS.transport.relayMin + 40;

let relays: TestRelay[] = [];
let sockets: dgram.Socket[] = [];

afterEach(async () => {
  for (const socket of sockets) socket.close();
  await Promise.all(relays.map((r) => r.close()));
  relays = [];
  sockets = [];
});

async function peerSocket(): Promise<dgram.Socket> {
  const socket = dgram.createSocket('udp4');
  sockets.push(socket);
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  return socket;
}

async function clientOf(relay: TestRelay): Promise<TurnClient> {
  const { username, password } = relay.credential('acme');
  return TurnClient.open({ address: '127.0.0.1', port: relay.port, username, password });
}

describe('startTurnUdp', () => {
  it('relays ChannelData both ways between a client and a peer', async () => {
    const relay = await startTestRelay({ relayMin: BASE, relayMax: BASE + 9 });
    relays.push(relay);
    const client = await clientOf(relay);
    const allocated = await client.allocate();
    expect(allocated.code).toBe(200);
    const relayAddress = relayedAddress(allocated);
    const peer = await peerSocket();
    const peerAddress = { family: 'IPv4' as const, address: '127.0.0.1', port: peer.address().port };
    expect((await client.channelBind(0x4001, peerAddress)).code).toBe(200);

    const atPeer = new Promise<{ data: Buffer; port: number }>((resolve) =>
      peer.once('message', (data, from) => resolve({ data, port: from.port })),
    );
    const header = Buffer.from([0x40, 0x01, 0x00, 0x03]);
    client.send([header, Buffer.from('abc')]);
    expect(await atPeer).toEqual({ data: Buffer.from('abc'), port: relayAddress.port });

    peer.send(Buffer.from('xyz!'), relayAddress.port, '127.0.0.1');
    const back = await client.receive((data) => data[0] === 0x40);
    expect(back).toEqual(Buffer.from([0x40, 0x01, 0x00, 0x04, ...Buffer.from('xyz!')]));
    await client.close();
  });

  it('allocates an IPv6 relay when asked and configured', async () => {
    const relay = await startTestRelay({ relayMin: BASE + 10, relayMax: BASE + 19, relayIp6: '::1' });
    relays.push(relay);
    const client = await clientOf(relay);
    const allocated = await client.allocate((b) => b.addAddressFamily(Attr.REQUESTED_ADDRESS_FAMILY, 'IPv6'));
    expect(allocated.code).toBe(200);
    expect(relayedAddress(allocated)).toMatchObject({ family: 'IPv6', address: '::1' });
    await client.close();
  });

  it('keeps serving when an event handler throws', async () => {
    const relay = await startTestRelay({
      relayMin: BASE + 20,
      relayMax: BASE + 29,
      events: {
        allocationCreated: () => {
          throw new Error('broken metrics');
        },
      },
    });
    relays.push(relay);
    const client = await clientOf(relay);
    // The response leaves before the event fires; the exception is reported, not fatal.
    expect((await client.allocate()).code).toBe(200);
    expect(relay.record.errors.map((e) => e.code)).toContain('ICEGATE_TRANSPORT_HANDLER_ERROR');
    expect((await client.binding()).code).toBe(200);
    await client.close();
  });

  it('closes every relay socket on close()', async () => {
    const relay = await startTestRelay({ relayMin: BASE + 30, relayMax: BASE + 39 });
    const client = await clientOf(relay);
    expect((await client.allocate()).code).toBe(200);
    expect(relay.server.relays.size).toBe(1);
    await relay.close();
    expect(relay.server.relays.size).toBe(0);
    expect(relay.record.deleted.map((d) => d.reason)).toEqual(['shutdown']);
    await client.close();
  });
});
