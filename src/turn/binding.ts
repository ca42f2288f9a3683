import { Attr } from '../stun/index.js';
import type { TurnContext } from './context.js';
import type { TurnRequest } from './request.js';

/**
 * A Binding request on the TURN port (RFC 8489 section 3; RFC 8656 section 4 lets clients find
 * their server-reflexive address this way): answered with XOR-MAPPED-ADDRESS, without
 * authentication and without state, so retransmissions are simply answered again.
 */
export function handleBinding(ctx: TurnContext, request: TurnRequest): void {
  ctx.succeed(request, (b) => b.addXorAddress(Attr.XOR_MAPPED_ADDRESS, request.tuple.client));
}
