import type { PendingAllocate, TurnContext } from './context.js';

/** Removes a pending Allocate from the books (its 5-tuple and its quota slot). */
export function finishPending(ctx: TurnContext, pending: PendingAllocate): void {
  const key = pending.request.tuple.key;
  if (ctx.pendingByTuple.get(key) === pending) ctx.pendingByTuple.delete(key);
  if (pending.holdsSlot) {
    pending.holdsSlot = false;
    ctx.allocations.release(pending.tenant, pending.username);
  }
}

/** Ends a cancelled Allocate: policy cancellations are answered 403, vanished clients not at all. */
export function abandonAllocate(ctx: TurnContext, pending: PendingAllocate): void {
  finishPending(ctx, pending);
  if (pending.cancelled === 'policy') ctx.fail(pending.request, 403, 'Tenant closed');
}
