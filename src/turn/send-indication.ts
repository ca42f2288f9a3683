import { Attr, getAttribute, readXorAddress, type StunMessage } from '../stun/index.js';
import type { TurnContext } from './context.js';
import type { FiveTuple } from './five-tuple.js';

/**
 * A Send indication, RFC 8656 section 11.2: relayed to the peer when XOR-PEER-ADDRESS and DATA
 * are there and a permission exists for the peer's IP; silently dropped otherwise (a denied peer
 * never gets a permission, so it is dropped here too). It never refreshes a permission.
 * DONT-FRAGMENT is ignored: Node cannot set the DF bit.
 */
export function handleSendIndication(ctx: TurnContext, tuple: FiveTuple, message: StunMessage): void {
  const allocation = ctx.allocations.byTuple(tuple.key);
  const now = ctx.clock();
  if (allocation === undefined || allocation.expiresAt <= now) {
    ctx.drop('no-allocation');
    return;
  }
  const peerAttr = getAttribute(message, Attr.XOR_PEER_ADDRESS);
  const dataAttr = getAttribute(message, Attr.DATA);
  const peer = peerAttr === undefined ? null : readXorAddress(peerAttr.value, message.transactionId);
  if (peer === null || dataAttr === undefined) {
    ctx.drop('bad-send-indication');
    return;
  }
  const relayId = allocation.relayIdFor(peer.family);
  if (relayId < 0 || !allocation.permissions.allows(peer.address, now)) {
    ctx.drop('no-permission');
    return;
  }
  const data = dataAttr.value;
  ctx.sink.sendToPeer(relayId, peer, data, 0, data.length);
  allocation.traffic.toPeerPackets++;
  allocation.traffic.toPeerBytes += data.length;
}
