import type dgram from 'node:dgram';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  NativeDataPlane,
  type NativeRelay,
  type NativeRelayPlane,
  requireNativeAddon,
} from '../../../src/transport/native/index.js';
import { bound, channelData, LOOPBACK, settled, waitFor as waitUntil } from './udp-sockets.js';

const skipNative = process.env.ICEGATE_SKIP_NATIVE === '1';

function nextMessage(socket: dgram.Socket, ms = 1000): Promise<{ data: Buffer; port: number } | null> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      socket.off('message', onMessage);
      resolve(null);
    }, ms);
    const onMessage = (data: Buffer, rinfo: dgram.RemoteInfo): void => {
      clearTimeout(timer);
      socket.off('message', onMessage);
      resolve({ data, port: rinfo.port });
    };
    socket.on('message', onMessage);
  });
}

const waitFor = (condition: () => boolean, ms = 1000): Promise<void> => waitUntil(condition, ms);

const BINDING_REQUEST = Buffer.from('000100002112a442000102030405060708090a0b', 'hex');

describe.skipIf(skipNative)('native listener plane: both directions over UDP', () => {
  let client: dgram.Socket;
  let peer: dgram.Socket;
  let plane: NativeRelayPlane;
  let relay: NativeRelay;
  let control: { data: Buffer; ip: string; port: number }[];

  beforeEach(async () => {
    client = await bound();
    peer = await bound();
    control = [];
    plane = new NativeDataPlane(requireNativeAddon()).listen(LOOPBACK, 0, (data, ip, port) => {
      control.push({ data, ip, port });
    });
    relay = plane.openRelay(LOOPBACK, 0);
  });

  afterEach(() => {
    plane.close();
    client.close();
    peer.close();
  });

  it('hands STUN to the control handler and sends the answer from the listening port', async () => {
    expect(plane.ownsListener).toBe(true);
    client.send(BINDING_REQUEST, plane.listenPort ?? 0, LOOPBACK);
    await waitFor(() => control.length === 1);
    expect(control[0]).toEqual({ data: BINDING_REQUEST, ip: LOOPBACK, port: client.address().port });
    const reply = nextMessage(client);
    plane.sendToClient({ family: 'IPv4', address: LOOPBACK, port: client.address().port }, Buffer.from('ok'));
    expect(await reply).toEqual({ data: Buffer.from('ok'), port: plane.listenPort });
  });

  it('relays ChannelData client -> peer from the relay socket, and peer -> client back (RFC 8656 §12)', async () => {
    plane.setClient(relay.id, { family: 'IPv4', address: LOOPBACK, port: client.address().port });
    plane.setPermissions(relay.id, [LOOPBACK]);
    plane.setChannels(relay.id, [{ ip: LOOPBACK, port: peer.address().port, channel: 0x4002 }]);

    const atPeer = nextMessage(peer);
    client.send(channelData(0x4002, Buffer.from('ping')), plane.listenPort ?? 0, LOOPBACK);
    expect(await atPeer).toEqual({ data: Buffer.from('ping'), port: relay.port });

    const atClient = nextMessage(client);
    peer.send(Buffer.from('pong'), relay.port, LOOPBACK);
    expect(await atClient).toEqual({
      data: channelData(0x4002, Buffer.from('pong')),
      port: plane.listenPort,
    });
    await settled(() => plane.counters(), { sentToPeer: 1, sentChannelData: 1 });
    await settled(() => plane.relayTraffic(relay.id), { packetsToClient: 1 });
    expect(plane.counters()).toMatchObject({ sentToPeer: 1, sentChannelData: 1, handedToControl: 0 });
    expect(plane.relayTraffic(relay.id)).toEqual({
      packetsToClient: 1,
      bytesToClient: 4,
      packetsToPeer: 1,
      bytesToPeer: 4,
    });
  });

  it('sends from a relay socket what the TypeScript core relays itself (Send indications)', async () => {
    const atPeer = nextMessage(peer);
    plane.sendFromRelay(
      relay.id,
      { family: 'IPv4', address: LOOPBACK, port: peer.address().port },
      Buffer.from('si'),
    );
    expect(await atPeer).toEqual({ data: Buffer.from('si'), port: relay.port });
    expect(() =>
      plane.sendFromRelay(12345, { family: 'IPv4', address: LOOPBACK, port: 1 }, Buffer.from('x')),
    ).toThrow(/unknown relay/);
  });

  it('relays no unbound channel and no malformed ChannelData, and hands unbound channels and unknown clients to JS', async () => {
    plane.setClient(relay.id, { family: 'IPv4', address: LOOPBACK, port: client.address().port });
    plane.setPermissions(relay.id, [LOOPBACK]);
    const listenPort = plane.listenPort ?? 0;
    // Not in the table: the core decides (it relays a channel it has just bound, §12.6 otherwise).
    client.send(channelData(0x4003, Buffer.from('x')), listenPort, LOOPBACK);
    await waitFor(() => control.length === 1);
    client.send(Buffer.from([0x40, 0x03, 0x00, 0x09, 1]), listenPort, LOOPBACK); // length > bytes
    const stranger = await bound();
    try {
      stranger.send(channelData(0x4003, Buffer.from('y')), listenPort, LOOPBACK); // no table: to JS
      await waitFor(() => plane.counters().clientReceived === 3);
      await waitFor(() => control.length === 2);
      expect(plane.counters()).toMatchObject({
        clientReceived: 3,
        droppedUnboundChannel: 1,
        droppedMalformed: 1,
        handedToControl: 2,
        sentToPeer: 0,
      });
      expect(control[0]?.port).toBe(client.address().port);
      expect(control[1]?.port).toBe(stranger.address().port);
    } finally {
      stranger.close();
    }
  });

  it('relays ChannelData on a bound channel whose permission expired, as the core does (RFC 8656 §12.6, §9)', async () => {
    plane.setClient(relay.id, { family: 'IPv4', address: LOOPBACK, port: client.address().port });
    plane.setPermissions(relay.id, [LOOPBACK]);
    plane.setChannels(relay.id, [{ ip: LOOPBACK, port: peer.address().port, channel: 0x4004 }]);
    // The permission expired, the channel binding did not (the core pushes such a table).
    plane.setPermissions(relay.id, []);
    const atPeer = nextMessage(peer);
    client.send(channelData(0x4004, Buffer.from('z')), plane.listenPort ?? 0, LOOPBACK);
    // Client -> peer on a bound channel is relayed: only peer -> client is gated by permission.
    expect(await atPeer).toEqual({ data: Buffer.from('z'), port: relay.port });
    // The peer's answer is not (section 9).
    const atClient = nextMessage(client, 300);
    peer.send(Buffer.from('back'), relay.port, LOOPBACK);
    expect(await atClient).toBeNull();
    expect(plane.counters()).toMatchObject({
      sentToPeer: 1,
      droppedUnboundChannel: 0,
      droppedNoPermission: 1,
      sentChannelData: 0,
      handedToControl: 0,
    });
    // Once the binding is gone too, ChannelData on it is discarded (§12.6).
    plane.setChannels(relay.id, []);
    client.send(channelData(0x4004, Buffer.from('gone')), plane.listenPort ?? 0, LOOPBACK);
    await waitFor(() => plane.counters().droppedUnboundChannel === 1);
    expect(plane.counters()).toMatchObject({ sentToPeer: 1, droppedUnboundChannel: 1 });
  });

  it('relays RFC 5766 channel numbers up to 0x7FFF natively both ways, the data alone when bytes follow it', async () => {
    plane.setClient(relay.id, { family: 'IPv4', address: LOOPBACK, port: client.address().port });
    plane.setPermissions(relay.id, [LOOPBACK]);
    plane.setChannels(relay.id, [{ ip: LOOPBACK, port: peer.address().port, channel: 0x7fff }]);
    const atPeer = nextMessage(peer);
    client.send(channelData(0x7fff, Buffer.from('high')), plane.listenPort ?? 0, LOOPBACK);
    expect(await atPeer).toEqual({ data: Buffer.from('high'), port: relay.port });
    const atClient = nextMessage(client);
    peer.send(Buffer.from('back'), relay.port, LOOPBACK);
    expect(await atClient).toEqual({
      data: channelData(0x7fff, Buffer.from('back')),
      port: plane.listenPort,
    });
    // Bytes after the data (here six, more than any padding) are ignored, as the core ignores them.
    const trailed = nextMessage(peer);
    client.send(
      Buffer.concat([channelData(0x7fff, Buffer.from('pad')), Buffer.from([1, 2, 3, 4, 5, 6])]),
      plane.listenPort ?? 0,
      LOOPBACK,
    );
    expect(await trailed).toEqual({ data: Buffer.from('pad'), port: relay.port });
    // The data thread counts a datagram after its send returns: the peer may have it first.
    await waitFor(() => plane.counters().sentToPeer >= 2);
    expect(plane.counters()).toMatchObject({
      sentToPeer: 2,
      sentChannelData: 1,
      droppedMalformed: 0,
      handedToControl: 0,
    });
    expect(control).toEqual([]);
  });

  it('survives the control handler closing the plane mid-dispatch', async () => {
    let closedInside = false;
    const other = new NativeDataPlane(requireNativeAddon()).listen(LOOPBACK, 0, () => {
      other.close();
      closedInside = true;
    });
    const port = other.listenPort ?? 0;
    for (let i = 0; i < 5; i += 1) client.send(BINDING_REQUEST, port, LOOPBACK);
    await waitFor(() => closedInside);
    await new Promise((r) => setTimeout(r, 50));
    expect(closedInside).toBe(true);
    expect(() => other.counters()).toThrow(/NATIVE_CLOSED/);
  });
});
