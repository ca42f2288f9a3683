// The transport's answers to bindRelay, RFC 8656 section 7.2: once every relay an Allocate asked
// for has answered (two for a dual allocation), the allocation is created or the Allocate fails.
import type { PendingAllocate, TurnContext } from './context.js';
import { type AdditionalRelay, createAllocation } from './create-allocation.js';
import type { BoundRelay, RelayFailure } from './hooks.js';
import { abandonAllocate, finishPending } from './pending-allocate.js';

/** Handles the answer to the bind of `ref`: a bound relay, or why there is none. */
export function relayAnswered(ctx: TurnContext, ref: number, outcome: BoundRelay | RelayFailure): void {
  const pending = ctx.pendingByRef.get(ref);
  const relays = pending?.relays ?? null;
  if (pending === undefined || relays === null) {
    closeIfBound(ctx, outcome);
    return;
  }
  ctx.pendingByRef.delete(ref);
  if (ref === relays.primaryRef) relays.primary = outcome;
  else relays.additional = outcome;
  const { primary, additional } = relays;
  if (primary === null || (relays.additionalRef !== null && additional === null)) return;

  if (pending.cancelled !== null || typeof primary === 'string') {
    closeIfBound(ctx, primary);
    closeIfBound(ctx, additional);
    if (pending.cancelled !== null) {
      abandonAllocate(ctx, pending);
      return;
    }
    finishPending(ctx, pending);
    ctx.fail(pending.request, 508, primary === 'exhausted' ? 'No relay port available' : 'Relay unavailable');
    return;
  }
  createAllocation(ctx, pending, primary, additionalOf(pending, additional));
}

/**
 * What a dual allocation says about its second family: the relay, or the ADDRESS-ERROR-CODE for it
 * (440 when the server has no relay address of that family, 508 when binding one failed).
 */
function additionalOf(
  pending: PendingAllocate,
  outcome: BoundRelay | RelayFailure | null,
): AdditionalRelay | null {
  const family = pending.additionalFamily;
  if (family === null) return null;
  if (outcome === null) return { family, code: 440 };
  if (typeof outcome === 'string') return { family, code: 508 };
  return outcome;
}

function closeIfBound(ctx: TurnContext, outcome: BoundRelay | RelayFailure | null): void {
  if (outcome === null || typeof outcome === 'string') return;
  ctx.sink.closeRelay(outcome.relayId);
  if (outcome.reserved !== undefined) ctx.sink.closeRelay(outcome.reserved.relayId);
}
