import type { Allocation } from './allocation.js';
import type { TurnContext } from './context.js';
import type { TurnRequest } from './request.js';

/**
 * The allocation of the request's 5-tuple, for every request but Allocate (RFC 8656 section 5):
 * none (or one past its time-to-expiry) answers 437; a USERNAME other than the one that created
 * it answers 441 (RFC 8656 section 5: the same credentials for the life of an allocation).
 */
export function existingAllocation(ctx: TurnContext, request: TurnRequest): Allocation | null {
  const allocation = ctx.allocations.byTuple(request.tuple.key);
  if (allocation !== undefined && allocation.expiresAt <= ctx.clock()) {
    ctx.deleteAllocation(allocation, 'expired');
  } else if (allocation !== undefined) {
    if (allocation.username === request.credentials?.username) return allocation;
    ctx.events.authFailed?.('wrong-credentials', request.tuple);
    ctx.fail(request, 441);
    return null;
  }
  ctx.fail(request, 437);
  return null;
}
