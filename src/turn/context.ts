// Shared state of one TURN server, handed to the per-method handlers.
import type { NonceFactory, SecretRing } from '../auth/index.js';
import { Attr, encodeText, type MessageBuilder, type TransportAddress } from '../stun/index.js';
import type { Allocation, AllocationEndReason } from './allocation.js';
import { AllocationTable } from './allocation-table.js';
import type { ActionSink, BoundRelay, DropReason, RelayFailure, TurnEvents, TurnPolicy } from './hooks.js';
import type { TurnLimits } from './limits.js';
import { collectRelayTraffic } from './relay-tables.js';
import { finishResponse, responseBuilder, type TurnRequest } from './request.js';
import { ReservationTable } from './reservations.js';
import { TransactionCache } from './transaction-cache.js';
import { UnauthenticatedBudget } from './unauthenticated-budget.js';

/** The parts of a SecretRing the core uses (long-term keys for every live secret). */
export type KeySource = Pick<SecretRing, 'longTermKeys'>;
/** The parts of a NonceFactory the core uses. */
export type NonceSource = Pick<NonceFactory, 'issue' | 'check'>;

/** An Allocate that passed validation and waits for authorize or for its relay socket. */
export interface PendingAllocate {
  readonly request: TurnRequest;
  readonly tenant: string;
  readonly username: string;
  readonly opaque: string | undefined;
  readonly family: TransportAddress['family'];
  /** ADDITIONAL-ADDRESS-FAMILY of a dual allocation (RFC 8656 section 7.2), or null. */
  readonly additionalFamily: TransportAddress['family'] | null;
  readonly evenPort: boolean;
  readonly reserveNext: boolean;
  readonly reservationToken: Buffer | null;
  /** Granted lifetime, seconds. */
  readonly lifetime: number;
  /** Whether it holds a quota slot (AllocationTable.reserve). */
  holdsSlot: boolean;
  /** Set when the client went away or policy closed the tenant meanwhile. */
  cancelled: 'transport-closed' | 'policy' | 'shutdown' | null;
  /** The relay binds in flight, once asked for. */
  relays: PendingRelays | null;
}

/**
 * The answers an Allocate waits for: the relay of the requested family and, for a dual
 * allocation, the additional IPv6 one (null while unanswered; `additionalRef` null when not asked).
 */
export interface PendingRelays {
  primaryRef: number;
  additionalRef: number | null;
  primary: BoundRelay | RelayFailure | null;
  additional: BoundRelay | RelayFailure | null;
}

/** Everything the handlers share; built once by TurnServer. */
export class TurnContext {
  readonly allocations = new AllocationTable();
  readonly transactions: TransactionCache;
  readonly reservations = new ReservationTable();
  /** Answers to UDP sources that have not proved their address, per source (reflection guard). */
  readonly unproven: UnauthenticatedBudget;
  /** Allocates in flight, by 5-tuple key. */
  readonly pendingByTuple = new Map<string, PendingAllocate>();
  /** Allocates waiting for bindRelay's answer, by ref. */
  readonly pendingByRef = new Map<number, PendingAllocate>();
  readonly relayFamilies: ReadonlySet<TransportAddress['family']>;
  /** When set, new Allocates get 508 (graceful drain). */
  draining = false;
  #nextAllocationId = 1;
  #nextRef = 1;
  /** REALM's value, encoded (and checked against its limits) once for every challenge. */
  readonly #realmValue: Buffer;

  constructor(
    readonly realm: string,
    readonly software: string | undefined,
    readonly secrets: KeySource,
    readonly nonces: NonceSource,
    readonly clock: () => number,
    readonly policy: TurnPolicy,
    readonly events: TurnEvents,
    readonly limits: TurnLimits,
    readonly sink: ActionSink,
    relayFamilies: readonly TransportAddress['family'][],
  ) {
    this.transactions = new TransactionCache(limits.transactionCacheSize, limits.transactionLifetime * 1000);
    this.relayFamilies = new Set(relayFamilies);
    this.#realmValue = encodeText(realm, Attr.REALM);
    this.unproven = new UnauthenticatedBudget({
      burst: limits.unauthenticatedBurst,
      ratePerSecond: limits.unauthenticatedRate,
      slots: limits.unauthenticatedSources,
    });
  }

  allocationId(): number {
    return this.#nextAllocationId++;
  }

  relayRef(): number {
    return this.#nextRef++;
  }

  drop(reason: DropReason): void {
    this.events.packetDropped?.(reason);
  }

  /**
   * Sends a finished response. Responses to requests that proved their address are kept for
   * retransmissions; the others are neither kept (no memory per unproven request) nor sent to a
   * UDP source over its budget (RFC 8656 section 21.1: a spoofed source must not make us an amplifier).
   */
  send(request: TurnRequest, response: Buffer, code: number): void {
    if (request.addressProven) {
      this.transactions.store(request.cacheKey, response, this.clock());
    } else if (
      request.tuple.transport === 'udp' &&
      !this.unproven.take(request.tuple.client.address, this.clock())
    ) {
      this.drop('rate-limited');
      return;
    }
    this.sink.sendToClient(request.tuple, response);
    const withIntegrity = request.message.integrityOffset >= 0;
    this.events.requestAnswered?.(
      request.message.method,
      code,
      request.tuple.transport,
      withIntegrity,
      request.tuple.client,
    );
  }

  /** Builds (without sending) a success response with the attributes `add` puts in. */
  buildSuccess(request: TurnRequest, add?: (builder: MessageBuilder) => void): Buffer {
    const builder = responseBuilder(request, true);
    add?.(builder);
    return finishResponse(builder, request, this.software);
  }

  /** Answers success with the attributes `add` puts in. */
  succeed(request: TurnRequest, add?: (builder: MessageBuilder) => void): void {
    this.send(request, this.buildSuccess(request, add), 200);
  }

  /** Answers an error response with ERROR-CODE (RFC 8489 section 14.8) and the attributes `add` puts in. */
  fail(request: TurnRequest, code: number, reason?: string, add?: (builder: MessageBuilder) => void): void {
    const builder = responseBuilder(request, false).addErrorCode(code, reason && reasonPhrase(reason));
    add?.(builder);
    // No SOFTWARE on unauthenticated errors: it adds nothing a client needs to authenticate and
    // would only grow the answer a spoofed request draws.
    const software = request.credentials === null ? undefined : this.software;
    this.send(request, finishResponse(builder, request, software), code);
  }

  /** Answers 401 or 438 with REALM and a fresh NONCE, RFC 8489 section 9.2.4. */
  challenge(request: TurnRequest, code: 401 | 438): void {
    const now = this.clock();
    this.fail(request, code, undefined, (b) => {
      b.add(Attr.REALM, this.#realmValue).addText(
        Attr.NONCE,
        this.nonces.issue(request.tuple.clientKey, now),
      );
    });
  }

  /** Deletes an allocation: closes its relay, reports its last traffic and its end. */
  deleteAllocation(allocation: Allocation, reason: AllocationEndReason): void {
    if (allocation.closed) return;
    allocation.closed = true;
    this.allocations.remove(allocation);
    // What a data plane outside the core relayed is read before its relays close.
    collectRelayTraffic(this, allocation);
    for (const relayId of allocation.relayIds()) this.sink.closeRelay(relayId);
    this.reportTraffic(allocation);
    this.events.allocationDeleted?.(allocation, reason, this.clock() - allocation.createdAt);
  }

  /** Emits trafficRelayed for what the allocation relayed since the last report. */
  reportTraffic(allocation: Allocation): void {
    if (!allocation.traffic.differsFrom(allocation.reported)) return;
    const delta = allocation.traffic.minus(allocation.reported);
    allocation.reported.copyFrom(allocation.traffic);
    this.events.trafficRelayed?.(allocation, delta);
  }
}

/** A reason phrase within RFC 8489 section 14.8's limit (under 128 characters), from any text (e.g. a hook's). */
function reasonPhrase(text: string): string {
  const chars = [...text];
  return chars.length <= 120 ? text : chars.slice(0, 120).join('');
}
