import type { TransportAddress } from '../stun/index.js';
import type { Allocation } from './allocation.js';
import type { TurnContext } from './context.js';
import type { TurnRequest } from './request.js';

/**
 * Checks peers for CreatePermission and ChannelBind. Answers and returns false on the first
 * problem: 443 for a peer of a family the allocation has no relayed address of (RFC 8656 sections
 * 10.2, 12.2; a dual allocation has both), 403 for a peer the policy denies (the same sections let
 * the server restrict peer addresses).
 */
export function peersAcceptable(
  ctx: TurnContext,
  request: TurnRequest,
  allocation: Allocation,
  peers: readonly TransportAddress[],
): boolean {
  for (const peer of peers) {
    if (!allocation.hasFamily(peer.family)) {
      ctx.fail(request, 443);
      return false;
    }
  }
  for (const peer of peers) {
    const verdict = ctx.policy.checkPeer(peer.address);
    if (!verdict.allowed) {
      ctx.events.permissionDenied?.(peer, verdict.reason, allocation);
      ctx.fail(request, 403, 'Peer address not allowed');
      return false;
    }
  }
  return true;
}
