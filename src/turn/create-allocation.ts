import { Attr, type TransportAddress } from '../stun/index.js';
import { Allocation } from './allocation.js';
import type { PendingAllocate, TurnContext } from './context.js';
import type { BoundRelay } from './hooks.js';
import { finishPending } from './pending-allocate.js';
import { pushRelayTables } from './relay-tables.js';

/** The second family of a dual allocation: its relay, or the error to report for it. */
export type AdditionalRelay = BoundRelay | { family: TransportAddress['family']; code: 440 | 508 };

/**
 * Creates the allocation once its relay is bound and answers the Allocate, RFC 8656 section 7.2:
 * XOR-RELAYED-ADDRESS (two for a dual allocation, or one and ADDRESS-ERROR-CODE for the family that
 * could not be had), LIFETIME, RESERVATION-TOKEN when a port was reserved, and XOR-MAPPED-ADDRESS
 * (the client's server-reflexive address).
 */
export function createAllocation(
  ctx: TurnContext,
  pending: PendingAllocate,
  relay: BoundRelay,
  additional: AdditionalRelay | null = null,
): void {
  const { request } = pending;
  const now = ctx.clock();
  const token =
    relay.reserved === undefined
      ? null
      : ctx.reservations.add(
          relay.reserved.relayId,
          relay.reserved.address,
          now + ctx.limits.reservationLifetime * 1000,
        );
  const second = additional !== null && 'relayId' in additional ? additional : null;
  const response = ctx.buildSuccess(request, (b) => {
    b.addXorAddress(Attr.XOR_RELAYED_ADDRESS, relay.address);
    if (second !== null) b.addXorAddress(Attr.XOR_RELAYED_ADDRESS, second.address);
    else if (additional !== null && 'code' in additional)
      b.addAddressErrorCode(additional.family, additional.code);
    b.addUint32(Attr.LIFETIME, pending.lifetime);
    if (token !== null) b.add(Attr.RESERVATION_TOKEN, token);
    b.addXorAddress(Attr.XOR_MAPPED_ADDRESS, request.tuple.client);
  });
  const allocation = new Allocation({
    id: ctx.allocationId(),
    tuple: request.tuple,
    username: pending.username,
    tenant: pending.tenant,
    opaque: pending.opaque,
    relay: relay.address,
    relayId: relay.relayId,
    additional: second === null ? null : { relayId: second.relayId, address: second.address },
    createdAt: now,
    expiresAt: now + pending.lifetime * 1000,
    allocateTransaction: request.transactionHex,
    allocateResponse: response,
  });
  finishPending(ctx, pending);
  ctx.allocations.add(allocation);
  pushRelayTables(ctx, allocation, 'client');
  ctx.send(request, response, 200);
  ctx.events.allocationCreated?.(allocation);
}
