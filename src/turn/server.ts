// The sans-I/O TURN server (RFC 8656 over RFC 8489): datagrams and time in, actions out through
// the ActionSink. It opens no socket, reads no configuration and starts no timer: the transport
// calls tick() about once a second, and every expiry is also checked lazily where it matters.
import { decodeMessage, Method, StunClass, type StunMessage, type TransportAddress } from '../stun/index.js';
import { handleAllocate } from './allocate.js';
import type { AllocationEndReason, AllocationView } from './allocation.js';
import { authenticate } from './authenticate.js';
import { handleBinding } from './binding.js';
import { handleChannelBind } from './channel-bind.js';
import { relayFromClient, relayFromPeer } from './channel-data.js';
import { type KeySource, type NonceSource, TurnContext } from './context.js';
import { createAllocation } from './create-allocation.js';
import { handleCreatePermission } from './create-permission.js';
import { TurnConfigError } from './errors.js';
import type { FiveTuple } from './five-tuple.js';
import type { ActionSink, BoundRelay, RelayFailure, TurnEvents, TurnPolicy } from './hooks.js';
import { resolveLimits, type TurnLimits } from './limits.js';
import { abandonAllocate, finishPending } from './pending-allocate.js';
import { handleRefresh } from './refresh.js';
import { TurnRequest } from './request.js';
import { handleSendIndication } from './send-indication.js';
import { PENDING, TransactionCache } from './transaction-cache.js';

/** Options of a TurnServer; everything it needs is injected. */
export interface TurnServerOptions {
  /** REALM of the long-term credential mechanism (`TURN_REALM`). */
  realm: string;
  /** SOFTWARE attribute on responses (RFC 8489 section 14.14); omit to send none. */
  software?: string;
  /** Long-term keys per username for every live secret (a SecretRing). */
  secrets: KeySource;
  /** Stateless nonces (a NonceFactory). */
  nonces: NonceSource;
  /** Milliseconds; Date.now by default. */
  clock?: () => number;
  policy: TurnPolicy;
  events?: TurnEvents;
  limits?: Partial<TurnLimits>;
  /** The address families that have a relay address (440 for the others, RFC 8656 section 7.2). */
  relayFamilies: readonly TransportAddress['family'][];
  sink: ActionSink;
}

type RequestHandler = (ctx: TurnContext, request: TurnRequest) => void;

/** Authenticated request methods and their handlers (Binding is answered without authentication). */
const HANDLERS: ReadonlyMap<number, RequestHandler> = new Map<number, RequestHandler>([
  [Method.Allocate, handleAllocate],
  [Method.Refresh, handleRefresh],
  [Method.CreatePermission, handleCreatePermission],
  [Method.ChannelBind, handleChannelBind],
]);

/** A TURN server core. Inputs never throw on wire data; actions go to the sink. */
export class TurnServer {
  readonly #ctx: TurnContext;

  constructor(options: TurnServerOptions) {
    if (options.realm.length === 0) throw new TurnConfigError('ICEGATE_TURN_BAD_OPTION', 'realm is empty');
    if (options.relayFamilies.length === 0) {
      throw new TurnConfigError('ICEGATE_TURN_BAD_OPTION', 'relayFamilies is empty');
    }
    this.#ctx = new TurnContext(
      options.realm,
      options.software,
      options.secrets,
      options.nonces,
      options.clock ?? Date.now,
      options.policy,
      options.events ?? {},
      resolveLimits(options.limits),
      options.sink,
      options.relayFamilies,
    );
  }

  /** The limits in force (defaults merged with the options). */
  get limits(): Readonly<TurnLimits> {
    return this.#ctx.limits;
  }

  /** Live allocations. */
  get allocationCount(): number {
    return this.#ctx.allocations.size;
  }

  /** A datagram (or one deframed stream message) from a client. */
  handleClientPacket(tuple: FiveTuple, data: Buffer): void {
    if (data.length === 0) {
      this.#ctx.drop('empty');
      return;
    }
    // The first two bits tell STUN (0b00) from ChannelData (0b01), RFC 8656 section 12.
    const top = data[0]! >> 6;
    if (top === 1) {
      relayFromClient(this.#ctx, tuple, data);
      return;
    }
    if (top !== 0) {
      this.#ctx.drop('not-stun');
      return;
    }
    const decoded = decodeMessage(data);
    if (!decoded.ok) {
      this.#ctx.drop('malformed');
      return;
    }
    const message = decoded.message;
    if (message.cls === StunClass.Request) {
      this.#handleRequest(tuple, message);
      return;
    }
    if (message.cls !== StunClass.Indication) {
      this.#ctx.drop('unexpected-class');
      return;
    }
    // Indications with unknown comprehension-required attributes are dropped, RFC 8489 section 6.3.2.
    if (message.unknownRequired.length > 0) {
      this.#ctx.drop('unknown-attribute');
      return;
    }
    if (message.method === Method.Send) {
      handleSendIndication(this.#ctx, tuple, message);
      return;
    }
    // A Binding indication is a keepalive (RFC 8489 section 6.3.2): nothing to do.
    if (message.method !== Method.Binding) this.#ctx.drop('unknown-indication');
  }

  /** A datagram that arrived at relay `relayId` from `from` (dgram's rinfo fits). */
  handlePeerPacket(relayId: number, from: TransportAddress, data: Buffer): void {
    relayFromPeer(this.#ctx, relayId, from, data);
  }

  /** The transport's answer to bindRelay: the relay is open. */
  relayBound(ref: number, relay: BoundRelay): void {
    const ctx = this.#ctx;
    const pending = ctx.pendingByRef.get(ref);
    ctx.pendingByRef.delete(ref);
    if (pending === undefined || pending.cancelled !== null) {
      ctx.sink.closeRelay(relay.relayId);
      if (relay.reserved !== undefined) ctx.sink.closeRelay(relay.reserved.relayId);
      if (pending !== undefined) abandonAllocate(ctx, pending);
      return;
    }
    createAllocation(ctx, pending, relay);
  }

  /** The transport's answer to bindRelay: no relay (508, RFC 8656 section 7.2). */
  relayFailed(ref: number, reason: RelayFailure): void {
    const ctx = this.#ctx;
    const pending = ctx.pendingByRef.get(ref);
    if (pending === undefined) return;
    ctx.pendingByRef.delete(ref);
    if (pending.cancelled !== null) {
      abandonAllocate(ctx, pending);
      return;
    }
    finishPending(ctx, pending);
    ctx.fail(pending.request, 508, reason === 'exhausted' ? 'No relay port available' : 'Relay unavailable');
  }

  /** A relay socket failed for good: its allocation ends. */
  relayError(relayId: number): void {
    const allocation = this.#ctx.allocations.byRelay(relayId);
    if (allocation !== undefined) this.#ctx.deleteAllocation(allocation, 'relay-error');
  }

  /** The client's connection closed (TCP/TLS) or it is known gone: its allocation ends. */
  clientGone(tuple: FiveTuple): void {
    const ctx = this.#ctx;
    const allocation = ctx.allocations.byTuple(tuple.key);
    if (allocation !== undefined) ctx.deleteAllocation(allocation, 'transport-closed');
    const pending = ctx.pendingByTuple.get(tuple.key);
    if (pending !== undefined && pending.cancelled === null) pending.cancelled = 'transport-closed';
  }

  /**
   * Housekeeping, about once a second: expired allocations end (their relays close), expired
   * permissions and channels are forgotten, traffic counters are reported, old cached responses
   * and reservations go.
   */
  tick(): void {
    const ctx = this.#ctx;
    const now = ctx.clock();
    for (const allocation of ctx.allocations.values()) {
      if (allocation.expiresAt <= now) {
        ctx.deleteAllocation(allocation, 'expired');
        continue;
      }
      allocation.channels.sweep(now);
      allocation.permissions.sweep(now);
      ctx.reportTraffic(allocation);
    }
    ctx.transactions.sweep(now);
    for (const reservation of ctx.reservations.takeExpired(now)) ctx.sink.closeRelay(reservation.relayId);
  }

  /** Ends every allocation of `tenant` (and refuses its Allocates in flight); returns how many ended. */
  closeAllocationsOfTenant(tenant: string, reason: AllocationEndReason = 'policy'): number {
    const ctx = this.#ctx;
    const victims = [...ctx.allocations.ofTenant(tenant)];
    for (const allocation of victims) ctx.deleteAllocation(allocation, reason);
    for (const pending of ctx.pendingByTuple.values()) {
      if (pending.tenant === tenant && pending.cancelled === null) pending.cancelled = 'policy';
    }
    return victims.length;
  }

  /** Live allocations, of one tenant or all. */
  listAllocations(tenant?: string): AllocationView[] {
    const ctx = this.#ctx;
    return tenant === undefined ? [...ctx.allocations.values()] : [...ctx.allocations.ofTenant(tenant)];
  }

  /** Live plus pending allocations of `tenant`. */
  tenantLoad(tenant: string): number {
    return this.#ctx.allocations.tenantLoad(tenant);
  }

  /** Graceful drain: new Allocates get 508; existing allocations live on. */
  drain(): void {
    this.#ctx.draining = true;
  }

  /** Ends everything: allocations (reason 'shutdown'), reservations, Allocates in flight. */
  close(): void {
    const ctx = this.#ctx;
    ctx.draining = true;
    for (const allocation of ctx.allocations.values()) ctx.deleteAllocation(allocation, 'shutdown');
    for (const pending of ctx.pendingByTuple.values()) pending.cancelled ??= 'shutdown';
    for (const reservation of ctx.reservations.takeAll()) ctx.sink.closeRelay(reservation.relayId);
  }

  #handleRequest(tuple: FiveTuple, message: StunMessage): void {
    const ctx = this.#ctx;
    if (message.method === Method.Binding) {
      const request = new TurnRequest(tuple, message, '');
      if (message.unknownRequired.length > 0) {
        this.#unknownAttributes(request);
        return;
      }
      handleBinding(ctx, request);
      return;
    }
    const handler = HANDLERS.get(message.method);
    if (handler === undefined) {
      // RFC 8489 section 6.3.1: a request of a method the server does not know gets 400.
      ctx.fail(new TurnRequest(tuple, message, ''), 400, 'Unknown method');
      return;
    }
    const cacheKey = TransactionCache.keyOf(tuple.key, message.transactionId);
    const cached = ctx.transactions.lookup(cacheKey, ctx.clock());
    if (cached === PENDING) {
      ctx.drop('retransmission-in-progress');
      return;
    }
    if (cached !== undefined) {
      ctx.sink.sendToClient(tuple, cached);
      return;
    }
    const request = new TurnRequest(tuple, message, cacheKey);
    if (!authenticate(ctx, request)) return;
    // Unknown attributes are checked once authentication is done (RFC 8489 section 6.3), so the
    // 420 is signed.
    if (message.unknownRequired.length > 0) {
      this.#unknownAttributes(request);
      return;
    }
    handler(ctx, request);
  }

  /** 420 with UNKNOWN-ATTRIBUTES, RFC 8489 section 6.3.1. */
  #unknownAttributes(request: TurnRequest): void {
    const unknown = request.message.unknownRequired;
    this.#ctx.fail(request, 420, undefined, (b) => b.addUnknownAttributes(unknown));
  }
}
