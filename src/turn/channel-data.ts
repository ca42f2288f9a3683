// The data path (RFC 8656 sections 11.3, 12.6, 12.7). Per packet: map lookups by number or
// string already at hand, no closure, no promise; payloads leave as views of the received buffer.
import {
  dataIndicationParts,
  maxDataIndicationPayload,
  paddingFor,
  type TransportAddress,
} from '../stun/index.js';
import type { TurnContext } from './context.js';
import type { FiveTuple } from './five-tuple.js';

/**
 * A ChannelData message from the client, RFC 8656 section 12.6: relayed to the channel's peer
 * when the channel is bound, dropped otherwise. A datagram shorter than 4 + length is dropped;
 * bytes after the data (padding) are ignored.
 */
export function relayFromClient(ctx: TurnContext, tuple: FiveTuple, data: Buffer): void {
  const allocation = ctx.allocations.byTuple(tuple.key);
  if (allocation === undefined) {
    ctx.drop('no-allocation');
    return;
  }
  if (data.length < 4) {
    ctx.drop('short-channel-data');
    return;
  }
  const length = data.readUInt16BE(2);
  if (data.length < 4 + length) {
    ctx.drop('short-channel-data');
    return;
  }
  const now = ctx.clock();
  if (allocation.expiresAt <= now) {
    ctx.drop('no-allocation');
    return;
  }
  const binding = allocation.channels.live(data.readUInt16BE(0), now);
  // A dual allocation relays each peer from the relayed address of its family; a channel whose
  // family's relay was deleted (Refresh with LIFETIME 0 for that family) relays nothing.
  const relayId = binding === undefined ? -1 : allocation.relayIdFor(binding.peer.family);
  if (binding === undefined || relayId < 0) {
    ctx.drop('no-channel');
    return;
  }
  ctx.sink.sendToPeer(relayId, binding.peer, data, 4, length);
  allocation.traffic.toPeerPackets++;
  allocation.traffic.toPeerBytes += length;
}

/**
 * A datagram from a peer at a relayed address, RFC 8656 section 11.3: dropped without a
 * permission for the peer's IP (section 9); sent as ChannelData when a channel is bound to the
 * peer's address and port (section 12.7), else as a Data indication. Over TCP/TLS ChannelData is
 * padded to a multiple of 4 (section 12.5); over UDP it is not.
 */
export function relayFromPeer(ctx: TurnContext, relayId: number, from: TransportAddress, data: Buffer): void {
  const allocation = ctx.allocations.byRelay(relayId);
  if (allocation === undefined) {
    ctx.drop('unknown-relay');
    return;
  }
  const now = ctx.clock();
  if (allocation.expiresAt <= now) {
    ctx.drop('no-allocation');
    return;
  }
  const permission = allocation.permissions.get(from.address);
  if (permission === undefined || permission.expiresAt <= now) {
    ctx.drop('no-permission');
    return;
  }
  const length = data.length;
  const binding = allocation.channels.liveForPeer(permission, from.port, now);
  const tuple = allocation.tuple;
  if (binding !== undefined) {
    const header = binding.headerFor(length);
    ctx.sink.sendToClient(
      tuple,
      tuple.transport === 'udp' ? [header, data] : [header, data, paddingFor(length)],
    );
  } else {
    if (length > maxDataIndicationPayload(from.family)) {
      ctx.drop('too-large');
      return;
    }
    ctx.sink.sendToClient(tuple, [dataIndicationParts(from, length), data, paddingFor(length)]);
  }
  allocation.traffic.toClientPackets++;
  allocation.traffic.toClientBytes += length;
}
