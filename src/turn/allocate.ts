// Allocate, RFC 8656 section 7.2: validation, then the policy (authorize, quota), then a relay.
import { readAllocateRequest } from './allocate-request.js';
import type { PendingAllocate, TurnContext } from './context.js';
import { createAllocation } from './create-allocation.js';
import type { AuthDecision } from './hooks.js';
import { grantedLifetime } from './lifetime.js';
import { abandonAllocate, finishPending } from './pending-allocate.js';
import type { TurnRequest } from './request.js';
import { settleDecision } from './settle-decision.js';

/** The reason phrase of a 486 for the per-credential cap (the tenant quota's 486 has none). */
export const USER_QUOTA_REASON = 'User Allocation Quota Reached';

/** Handles an authenticated Allocate request. */
export function handleAllocate(ctx: TurnContext, request: TurnRequest): void {
  const { tuple } = request;
  const credentials = request.credentials!;
  const now = ctx.clock();

  // Step 2: the 5-tuple must be free. A retransmission of the Allocate that created the
  // allocation gets its success response again, even after the transaction cache forgot it.
  let existing = ctx.allocations.byTuple(tuple.key);
  if (existing !== undefined && existing.expiresAt <= now) {
    ctx.deleteAllocation(existing, 'expired');
    existing = undefined;
  }
  if (existing !== undefined) {
    if (
      existing.allocateTransaction === request.transactionHex &&
      existing.username === credentials.username
    ) {
      ctx.sink.sendToClient(tuple, existing.allocateResponse);
      return;
    }
    ctx.fail(request, 437);
    return;
  }
  if (ctx.pendingByTuple.has(tuple.key)) {
    ctx.fail(request, 437);
    return;
  }

  const params = readAllocateRequest(ctx, request, now);
  if ('code' in params) {
    const { unknown } = params;
    ctx.fail(request, params.code, params.reason, unknown && ((b) => b.addUnknownAttributes(unknown)));
    return;
  }

  // A draining server takes no new allocations (issue 6); 508 makes clients try another server.
  if (ctx.draining) {
    ctx.fail(request, 508, 'Server draining');
    return;
  }

  const pending: PendingAllocate = {
    request,
    tenant: credentials.rest.tenant,
    username: credentials.username,
    opaque: credentials.rest.opaque,
    family: params.family,
    additionalFamily: params.additionalFamily,
    evenPort: params.evenPort,
    reserveNext: params.reserveNext,
    reservationToken: params.reservationToken,
    lifetime: grantedLifetime(params.requestedLifetime, ctx.limits),
    holdsSlot: false,
    cancelled: null,
    relays: null,
  };
  ctx.pendingByTuple.set(tuple.key, pending);
  ctx.transactions.markPending(request.cacheKey, now);
  settleDecision(
    ctx,
    pending.tenant,
    pending.username,
    {
      method: 'allocate',
      transport: tuple.transport,
      client: tuple.client,
      opaque: pending.opaque,
    },
    (decision) => continueAllocate(ctx, pending, decision),
  );
}

/** Step 7 and on, once authorize has answered (null: it failed). */
function continueAllocate(ctx: TurnContext, pending: PendingAllocate, decision: AuthDecision | null): void {
  const { request, tenant } = pending;
  if (pending.cancelled !== null) {
    abandonAllocate(ctx, pending);
    return;
  }
  if (decision === null) {
    finishPending(ctx, pending);
    ctx.fail(request, 500, 'Authorization unavailable');
    return;
  }
  if (!decision.allowed) {
    finishPending(ctx, pending);
    ctx.events.authorizeDenied?.(tenant, decision.reason, 'allocate');
    ctx.fail(request, decision.code ?? 403, decision.reason);
    return;
  }
  // Step 7: the quota, counted per tenant (the RFC suggests per username; a tenant is the paying party).
  const load = ctx.allocations.tenantLoad(tenant);
  const limit = Math.min(
    ctx.limits.maxAllocationsPerTenant,
    decision.maxAllocations ?? Number.POSITIVE_INFINITY,
  );
  if (load >= limit || ctx.policy.checkQuota?.(tenant, load) === false) {
    finishPending(ctx, pending);
    ctx.events.quotaRefused?.(tenant, load);
    ctx.fail(request, 486);
    return;
  }
  // The per-credential cap (TURN_ALLOCATIONS_PER_USER): one end user cannot take a tenant's quota.
  const userLoad = ctx.allocations.userLoad(pending.username);
  if (userLoad >= (decision.maxAllocationsPerUser ?? Number.POSITIVE_INFINITY)) {
    finishPending(ctx, pending);
    ctx.events.quotaRefused?.(tenant, load);
    ctx.fail(request, 486, USER_QUOTA_REASON);
    return;
  }
  ctx.allocations.reserve(tenant, pending.username);
  pending.holdsSlot = true;

  if (pending.reservationToken !== null) {
    const reservation = ctx.reservations.claim(pending.reservationToken, ctx.clock());
    if (reservation === undefined) {
      finishPending(ctx, pending);
      ctx.fail(request, 508, 'Unknown or expired reservation');
      return;
    }
    createAllocation(ctx, pending, { relayId: reservation.relayId, address: reservation.address });
    return;
  }
  // A dual allocation binds both relays at once. Without an IPv6 relay address it is IPv4 alone,
  // answered with ADDRESS-ERROR-CODE 440 for IPv6 (RFC 8656 section 7.2).
  const { additionalFamily } = pending;
  const primaryRef = ctx.relayRef();
  const additionalRef =
    additionalFamily !== null && ctx.relayFamilies.has(additionalFamily) ? ctx.relayRef() : null;
  pending.relays = { primaryRef, additionalRef, primary: null, additional: null };
  ctx.pendingByRef.set(primaryRef, pending);
  if (additionalRef !== null) ctx.pendingByRef.set(additionalRef, pending);
  // Both refs are registered first: the sink may answer the first bind before the second is asked.
  ctx.sink.bindRelay({
    ref: primaryRef,
    family: pending.family,
    evenPort: pending.evenPort,
    reserveNext: pending.reserveNext,
    tuple: request.tuple,
    dual: additionalRef !== null,
  });
  if (additionalRef !== null && additionalFamily !== null) {
    ctx.sink.bindRelay({
      ref: additionalRef,
      family: additionalFamily,
      evenPort: pending.evenPort,
      reserveNext: false,
      tuple: request.tuple,
      dual: true,
    });
  }
}
