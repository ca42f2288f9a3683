// The Node floor: the least a TURN relay written on `dgram` can do per packet, driven by the same
// unmodified TURN client (coturn's turnutils_uclient) as the real servers.
//
// Control messages get hard-coded success with no authentication (Allocate, Refresh,
// CreatePermission, ChannelBind, Binding). Data gets no checks at all: no permission, no lifetime,
// no counters, no logging. Per relayed packet it does one recv and one send and two Map lookups
// by integer key; the ChannelData header towards the client is a separate 4-byte buffer sent with
// the payload as a list (no payload copy). Loopback only: every client and peer is 127.0.0.1, so
// a client or peer is known by its port alone.
//
// Usage: node bench/floor-relay.mjs --port P --relay-min A --relay-max B [--plain-lookup]
//        [--socket-buffer BYTES (listening socket, default 4 MiB; 0 leaves the kernel default)]
import { createSocket } from 'node:dgram';
import { parseArgs } from 'node:util';
import {
  Attr,
  buildMessage,
  MessageClass,
  Method,
  newTransactionId,
  readMessage,
  readXorAddressV4,
  u32,
  xorAddressV4,
} from './stun-wire.mjs';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    'relay-min': { type: 'string', default: '42000' },
    'relay-max': { type: 'string', default: '59000' },
    host: { type: 'string', default: '127.0.0.1' },
    'plain-lookup': { type: 'boolean', default: false },
    'socket-buffer': { type: 'string', default: String(4 * 1024 * 1024) },
  },
});
const host = values.host;
const relayMin = Number(values['relay-min']);
const relayMax = Number(values['relay-max']);

// dgram resolves the destination of every unconnected send through `lookup`; the default
// (dns.lookup) answers an IP literal on the next tick. A synchronous lookup for literals skips
// that deferral: it is something Node allows, so the floor uses it unless told not to.
const literalLookup = (address, _options, callback) => callback(null, address, 4);
const socketOptions = values['plain-lookup'] ? { type: 'udp4' } : { type: 'udp4', lookup: literalLookup };

const listener = createSocket(socketOptions);
/** client port -> allocation */
const allocations = new Map();
let nextRelayPort = relayMin;

function onClientMessage(msg, rinfo) {
  if ((msg[0] & 0xc0) === 0x40) {
    // ChannelData (RFC 8656 §12.4): forward the payload to the bound peer, nothing else.
    const allocation = allocations.get(rinfo.port);
    if (allocation === undefined) return;
    const peerPort = allocation.channelPeers.get(msg.readUInt16BE(0));
    if (peerPort === undefined) return;
    allocation.relay.send(msg, 4, msg.readUInt16BE(2), peerPort, host);
    return;
  }
  onControl(msg, rinfo);
}

function respond(request, rinfo, cls, attrs) {
  const type = request.method | cls;
  listener.send(buildMessage(type, request.transactionId, attrs), rinfo.port, rinfo.address);
}

function bindRelay(onBound) {
  const relay = createSocket(socketOptions);
  const tryPort = () => {
    const port = nextRelayPort;
    nextRelayPort = nextRelayPort >= relayMax ? relayMin : nextRelayPort + 1;
    relay.bind(port, host);
  };
  relay.on('error', (err) => {
    if (err.code === 'EADDRINUSE') tryPort();
  });
  relay.once('listening', () => onBound(relay));
  tryPort();
}

function startAllocation(request, rinfo) {
  const allocation = {
    clientPort: rinfo.port,
    relay: null,
    relayPort: 0,
    /** channel number -> peer port */
    channelPeers: new Map(),
    /** peer port -> channel number */
    peerChannels: new Map(),
    pending: [[request, rinfo]],
  };
  allocations.set(rinfo.port, allocation);
  // With a synchronous lookup, dgram emits 'listening' inside bind(): the request is queued first.
  bindRelay((relay) => {
    allocation.relay = relay;
    allocation.relayPort = relay.address().port;
    relay.on('message', (msg, peer) => {
      const channel = allocation.peerChannels.get(peer.port);
      if (channel !== undefined) {
        const header = Buffer.allocUnsafe(4);
        header.writeUInt16BE(channel, 0);
        header.writeUInt16BE(msg.length, 2);
        listener.send([header, msg], allocation.clientPort, host);
        return;
      }
      // No channel: a Data indication (RFC 8656 §11.4), for clients that use Send indications.
      const indication = buildMessage(Method.data | MessageClass.indication, newTransactionId(), [
        [Attr.xorPeerAddress, xorAddressV4(peer.address, peer.port)],
        [Attr.data, msg],
      ]);
      listener.send(indication, allocation.clientPort, host);
    });
    for (const [pendingRequest, pendingInfo] of allocation.pending) {
      allocateSuccess(pendingRequest, pendingInfo, allocation);
    }
    allocation.pending.length = 0;
  });
}

function allocateSuccess(request, rinfo, allocation) {
  respond(request, rinfo, MessageClass.success, [
    [Attr.xorRelayedAddress, xorAddressV4(host, allocation.relayPort)],
    [Attr.xorMappedAddress, xorAddressV4(rinfo.address, rinfo.port)],
    [Attr.lifetime, u32(600)],
  ]);
}

function onControl(msg, rinfo) {
  const request = readMessage(msg);
  if (request === null) return;
  const allocation = allocations.get(rinfo.port);
  if (request.cls === MessageClass.indication && request.method === Method.send) {
    const peer = readXorAddressV4(request.attrs.get(Attr.xorPeerAddress));
    const data = request.attrs.get(Attr.data);
    if (allocation?.relay && peer !== null && data !== undefined)
      allocation.relay.send(data, peer.port, host);
    return;
  }
  if (request.cls !== MessageClass.request) return;
  switch (request.method) {
    case Method.binding:
      respond(request, rinfo, MessageClass.success, [
        [Attr.xorMappedAddress, xorAddressV4(rinfo.address, rinfo.port)],
      ]);
      return;
    case Method.allocate:
      if (allocation === undefined) startAllocation(request, rinfo);
      else if (allocation.relay === null) allocation.pending.push([request, rinfo]);
      else allocateSuccess(request, rinfo, allocation);
      return;
    case Method.refresh: {
      const lifetime = request.attrs.get(Attr.lifetime);
      const seconds = lifetime === undefined ? 600 : lifetime.readUInt32BE(0);
      if (seconds === 0 && allocation?.relay) {
        allocation.relay.close();
        allocations.delete(rinfo.port);
      }
      respond(request, rinfo, MessageClass.success, [[Attr.lifetime, u32(seconds)]]);
      return;
    }
    case Method.createPermission:
      respond(request, rinfo, MessageClass.success, []);
      return;
    case Method.channelBind: {
      const channel = request.attrs.get(Attr.channelNumber);
      const peer = readXorAddressV4(request.attrs.get(Attr.xorPeerAddress));
      if (allocation !== undefined && channel !== undefined && peer !== null) {
        const number = channel.readUInt16BE(0);
        allocation.channelPeers.set(number, peer.port);
        allocation.peerChannels.set(peer.port, number);
      }
      respond(request, rinfo, MessageClass.success, []);
      return;
    }
    default:
      return;
  }
}

listener.on('message', onClientMessage);
listener.bind(Number(values.port), host, () => {
  // The listening socket carries every client's traffic; a bigger queue absorbs uclient's
  // bursts. Same size as icegate's listener (coturn asks 2 MiB for its own).
  const bytes = Number(values['socket-buffer']);
  if (bytes > 0) {
    listener.setRecvBufferSize(bytes);
    listener.setSendBufferSize(bytes);
  }
  process.stdout.write(`floor-relay listening on ${host}:${values.port}\n`);
});
// A clean exit lets `node --cpu-prof` write its profile.
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));
