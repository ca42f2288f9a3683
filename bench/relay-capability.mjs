// Before loading a server: what can it relay at all? One allocation made the way
// turnutils_uclient 4.6.1 makes it (with REQUESTED-ADDRESS-FAMILY, RFC 8656 §18.8), then data
// both ways through a Send indication (§11) and through a channel (§12), to a Node peer on
// 127.0.0.1 that echoes. Servers that fail here are reported, not loaded.
import { createSocket } from 'node:dgram';
import { sleep } from './child-processes.mjs';
import {
  Attr,
  buildMessage,
  MessageClass,
  Method,
  newTransactionId,
  REQUESTED_TRANSPORT_UDP,
  readMessage,
  readXorAddressV4,
  u32,
  xorAddressV4,
} from './stun-wire.mjs';
import { TurnClient } from './turn-client.mjs';

const REQUESTED_ADDRESS_FAMILY_V4 = Buffer.from([0x01, 0, 0, 0]);
const CHANNEL = 0x4001;

async function allocate(server, credential, withFamily) {
  const client = await TurnClient.open(server, credential, { rtoMs: 300, retransmits: 2 });
  const attrs = [[Attr.requestedTransport, REQUESTED_TRANSPORT_UDP]];
  if (withFamily) attrs.push([0x0017, REQUESTED_ADDRESS_FAMILY_V4]);
  try {
    const response = await client.request(Method.allocate, attrs);
    return { client, relayed: readXorAddressV4(response.attrs.get(Attr.xorRelayedAddress)) };
  } catch (err) {
    client.close();
    return { client: null, error: err.code ?? String(err) };
  }
}

/**
 * Probes one server. `credential` is {username, password}. Returns
 * {allocateAsUclient, allocatePlain, sendIndication: {toPeer, back}, channel: {bind, toPeer, back}}.
 */
export async function probeRelay(server, credential) {
  const result = {
    allocateAsUclient: false,
    allocatePlain: null,
    sendIndication: { toPeer: false, back: false },
    channel: { bind: false, toPeer: false, back: false },
    error: null,
  };
  const peer = createSocket('udp4');
  await new Promise((resolve) => peer.bind(0, '127.0.0.1', resolve));
  const peerPort = peer.address().port;
  const seenAtPeer = new Set();
  peer.on('message', (msg, rinfo) => {
    seenAtPeer.add(msg.toString('utf8'));
    peer.send(Buffer.from(`echo:${msg.toString('utf8')}`), rinfo.port, rinfo.address);
  });
  let client = null;
  try {
    let made = await allocate(server, credential, true);
    result.allocateAsUclient = made.client !== null;
    if (made.client === null) {
      result.error = `Allocate with REQUESTED-ADDRESS-FAMILY: ${made.error}`;
      made = await allocate(server, credential, false);
      result.allocatePlain = made.client !== null;
      if (made.client === null) return result;
    }
    client = made.client;
    const seenAtClient = new Set();
    client.onData = (msg) => {
      if ((msg[0] & 0xc0) === 0x40) {
        seenAtClient.add(`channel:${msg.subarray(4, 4 + msg.readUInt16BE(2)).toString('utf8')}`);
        return;
      }
      const message = readMessage(msg);
      const data = message?.attrs.get(Attr.data);
      if (message?.method === Method.data && data) seenAtClient.add(`data:${data.toString('utf8')}`);
    };
    const peerAttr = [Attr.xorPeerAddress, xorAddressV4('127.0.0.1', peerPort)];
    await client.request(Method.createPermission, [peerAttr]);
    const indication = buildMessage(Method.send | MessageClass.indication, newTransactionId(), [
      peerAttr,
      [Attr.data, Buffer.from('via-send')],
    ]);
    client.sendRaw(indication);
    await sleep(300);
    result.sendIndication.toPeer = seenAtPeer.has('via-send');
    result.sendIndication.back = seenAtClient.has('data:echo:via-send');
    try {
      await client.request(Method.channelBind, [[Attr.channelNumber, u32(CHANNEL << 16)], peerAttr]);
      result.channel.bind = true;
    } catch (err) {
      result.error = `ChannelBind: ${err.code ?? err}`;
      return result;
    }
    const payload = Buffer.from('via-channel');
    const header = Buffer.alloc(4);
    header.writeUInt16BE(CHANNEL, 0);
    header.writeUInt16BE(payload.length, 2);
    client.sendRaw(Buffer.concat([header, payload, Buffer.alloc(1)]));
    await sleep(300);
    result.channel.toPeer = seenAtPeer.has('via-channel');
    result.channel.back = seenAtClient.has('channel:echo:via-channel');
    return result;
  } catch (err) {
    result.error = err.code ?? String(err);
    return result;
  } finally {
    // Deleted, not left to expire: a measured client whose ephemeral port happens to be this
    // client's would otherwise meet this allocation (437 to its Allocate) and this channel, bound
    // to the probe's own peer (400 "Channel bound to another peer" to its ChannelBind).
    await client?.request(Method.refresh, [[Attr.lifetime, u32(0)]]).catch(() => {});
    client?.close();
    peer.close();
  }
}
