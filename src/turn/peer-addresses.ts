import { Attr, readXorAddress, type TransportAddress } from '../stun/index.js';
import type { TurnRequest } from './request.js';

/** Every XOR-PEER-ADDRESS of the request, decoded; null when there is none or one is malformed. */
export function readPeerAddresses(request: TurnRequest): TransportAddress[] | null {
  const { message } = request;
  const peers: TransportAddress[] = [];
  for (const attr of message.attributes) {
    if (attr.type !== Attr.XOR_PEER_ADDRESS) continue;
    const peer = readXorAddress(attr.value, message.transactionId);
    if (peer === null) return null;
    peers.push(peer);
  }
  return peers.length === 0 ? null : peers;
}
