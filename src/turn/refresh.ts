// Refresh, RFC 8656 section 8.2, with the authorize hook asked again on every non-zero refresh
// (a tenant that lost its entitlement gets 403 and its allocation ends).
import { Attr, readAddressFamily, readUint32, type TransportAddress } from '../stun/index.js';
import type { Allocation } from './allocation.js';
import type { TurnContext } from './context.js';
import { existingAllocation } from './existing-allocation.js';
import type { AuthDecision } from './hooks.js';
import { grantedLifetime } from './lifetime.js';
import type { TurnRequest } from './request.js';
import { settleDecision } from './settle-decision.js';

/** Handles an authenticated Refresh request. */
export function handleRefresh(ctx: TurnContext, request: TurnRequest): void {
  const allocation = existingAllocation(ctx, request);
  if (allocation === null) return;

  // Section 8.2: REQUESTED-ADDRESS-FAMILY names a family the allocation has, else 443. On a dual
  // allocation it picks the relayed address a LIFETIME of 0 deletes; a non-zero refresh extends
  // the whole allocation (one time-to-expiry for both families).
  const familyValue = request.attribute(Attr.REQUESTED_ADDRESS_FAMILY);
  const family = familyValue === undefined ? null : readAddressFamily(familyValue);
  if (familyValue !== undefined && (family === null || !allocation.hasFamily(family))) {
    ctx.fail(request, 443);
    return;
  }
  const lifetimeValue = request.attribute(Attr.LIFETIME);
  const requested = lifetimeValue === undefined ? null : readUint32(lifetimeValue);
  if (lifetimeValue !== undefined && requested === null) {
    ctx.fail(request, 400, 'Bad LIFETIME');
    return;
  }

  // A desired lifetime of zero deletes the allocation; a retransmission then finds the cached
  // success (or, once forgotten, a 437 that clients treat as success, section 8.3).
  if (requested === 0 && family !== null && allocation.additional !== null) {
    dropFamily(ctx, allocation, family);
    ctx.succeed(request, (b) => b.addUint32(Attr.LIFETIME, 0));
    return;
  }
  if (requested === 0) {
    ctx.deleteAllocation(allocation, 'refresh-0');
    ctx.succeed(request, (b) => b.addUint32(Attr.LIFETIME, 0));
    return;
  }

  const lifetime = grantedLifetime(requested, ctx.limits);
  ctx.transactions.markPending(request.cacheKey, ctx.clock());
  settleDecision(
    ctx,
    allocation.tenant,
    allocation.username,
    {
      method: 'refresh',
      transport: request.tuple.transport,
      client: request.tuple.client,
      opaque: allocation.opaque,
      allocationId: allocation.id,
    },
    (decision) => finishRefresh(ctx, request, allocation, lifetime, decision),
  );
}

function finishRefresh(
  ctx: TurnContext,
  request: TurnRequest,
  allocation: Allocation,
  lifetime: number,
  decision: AuthDecision | null,
): void {
  // The allocation may have ended while authorize was running.
  if (allocation.closed) {
    ctx.fail(request, 437);
    return;
  }
  if (decision === null) {
    ctx.fail(request, 500, 'Authorization unavailable');
    return;
  }
  if (!decision.allowed) {
    ctx.events.authorizeDenied?.(allocation.tenant, decision.reason, 'refresh');
    ctx.fail(request, 403, decision.reason);
    ctx.deleteAllocation(allocation, 'policy');
    return;
  }
  allocation.expiresAt = ctx.clock() + lifetime * 1000;
  ctx.succeed(request, (b) => b.addUint32(Attr.LIFETIME, lifetime));
  ctx.events.allocationRefreshed?.(allocation, lifetime);
}

/** Deletes one relayed address of a dual allocation; the other one carries on alone. */
function dropFamily(ctx: TurnContext, allocation: Allocation, family: TransportAddress['family']): void {
  const additional = allocation.additional;
  if (additional === null) return;
  const droppedId = family === allocation.relay.family ? allocation.relayId : additional.relayId;
  ctx.allocations.forgetRelay(allocation, droppedId);
  if (droppedId === allocation.relayId) {
    allocation.relay = additional.address;
    allocation.relayId = additional.relayId;
  }
  allocation.additional = null;
  ctx.sink.collectTraffic?.(droppedId, allocation.traffic);
  ctx.sink.closeRelay(droppedId);
}
