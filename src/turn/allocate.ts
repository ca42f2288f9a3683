// Allocate, RFC 8656 section 7.2: validation, then the policy (authorize, quota), then a relay.
import {
  Attr,
  Protocol,
  readAddressFamilyCode,
  readEvenPort,
  readRequestedTransport,
  readReservationToken,
  readUint32,
  type TransportAddress,
} from '../stun/index.js';
import type { PendingAllocate, TurnContext } from './context.js';
import { createAllocation } from './create-allocation.js';
import type { AuthDecision } from './hooks.js';
import { grantedLifetime } from './lifetime.js';
import { abandonAllocate, finishPending } from './pending-allocate.js';
import type { TurnRequest } from './request.js';
import { settleDecision } from './settle-decision.js';

const FAMILY_BY_CODE: Readonly<Record<number, TransportAddress['family']>> = { 1: 'IPv4', 2: 'IPv6' };

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

  // Step 3: REQUESTED-TRANSPORT, UDP only (TCP relaying is RFC 6062, not offered).
  const transportValue = request.attribute(Attr.REQUESTED_TRANSPORT);
  const protocol = transportValue === undefined ? null : readRequestedTransport(transportValue);
  if (protocol === null) {
    ctx.fail(request, 400, 'Missing or bad REQUESTED-TRANSPORT');
    return;
  }
  if (protocol !== Protocol.UDP) {
    ctx.fail(request, 442);
    return;
  }

  // Step 4: Node cannot set the DF bit on a datagram, so DONT-FRAGMENT is treated as an
  // unknown comprehension-required attribute, as the RFC requires of such servers.
  if (request.has(Attr.DONT_FRAGMENT)) {
    ctx.fail(request, 420, undefined, (b) => b.addUnknownAttributes([Attr.DONT_FRAGMENT]));
    return;
  }

  // Step 5: RESERVATION-TOKEN excludes EVEN-PORT and the address-family attributes.
  const tokenValue = request.attribute(Attr.RESERVATION_TOKEN);
  const evenValue = request.attribute(Attr.EVEN_PORT);
  const familyValue = request.attribute(Attr.REQUESTED_ADDRESS_FAMILY);
  const additionalValue = request.attribute(Attr.ADDITIONAL_ADDRESS_FAMILY);
  let token: Buffer | null = null;
  if (tokenValue !== undefined) {
    if (evenValue !== undefined || familyValue !== undefined || additionalValue !== undefined) {
      ctx.fail(request, 400, 'RESERVATION-TOKEN with EVEN-PORT or an address family');
      return;
    }
    token = readReservationToken(tokenValue);
    if (token === null) {
      ctx.fail(request, 400, 'Bad RESERVATION-TOKEN');
      return;
    }
    if (!ctx.reservations.isValid(token, now)) {
      ctx.fail(request, 508, 'Unknown or expired reservation');
      return;
    }
    token = Buffer.from(token);
  }

  // REQUESTED-ADDRESS-FAMILY (section 7.2 step 6 and RFC 8656 section 18.8): IPv4 when absent;
  // 440 for a family without a relay address. ADDITIONAL-ADDRESS-FAMILY (dual allocation) is
  // comprehension-optional and not offered yet, so it is ignored unless it conflicts.
  if (familyValue !== undefined && additionalValue !== undefined) {
    ctx.fail(request, 400, 'REQUESTED- and ADDITIONAL-ADDRESS-FAMILY together');
    return;
  }
  let family: TransportAddress['family'] = 'IPv4';
  if (familyValue !== undefined) {
    const code = readAddressFamilyCode(familyValue);
    if (code === null) {
      ctx.fail(request, 400, 'Bad REQUESTED-ADDRESS-FAMILY');
      return;
    }
    const requested = FAMILY_BY_CODE[code];
    if (requested === undefined) {
      ctx.fail(request, 440);
      return;
    }
    family = requested;
  }
  if (token === null && !ctx.relayFamilies.has(family)) {
    ctx.fail(request, 440);
    return;
  }

  // Step 6: EVEN-PORT, optionally reserving the next port (the R bit).
  let evenPort = false;
  let reserveNext = false;
  if (evenValue !== undefined) {
    const even = readEvenPort(evenValue);
    if (even === null) {
      ctx.fail(request, 400, 'Bad EVEN-PORT');
      return;
    }
    evenPort = true;
    reserveNext = even.reserveNext;
  }

  const lifetimeValue = request.attribute(Attr.LIFETIME);
  const requestedLifetime = lifetimeValue === undefined ? null : readUint32(lifetimeValue);
  if (lifetimeValue !== undefined && requestedLifetime === null) {
    ctx.fail(request, 400, 'Bad LIFETIME');
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
    family,
    evenPort,
    reserveNext,
    reservationToken: token,
    lifetime: grantedLifetime(requestedLifetime, ctx.limits),
    holdsSlot: false,
    cancelled: null,
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
  ctx.allocations.reserve(tenant);
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
  const ref = ctx.relayRef();
  ctx.pendingByRef.set(ref, pending);
  ctx.sink.bindRelay({
    ref,
    family: pending.family,
    evenPort: pending.evenPort,
    reserveNext: pending.reserveNext,
  });
}
