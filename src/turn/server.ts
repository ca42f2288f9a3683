// The sans-I/O TURN server (RFC 8656 over RFC 8489): datagrams and time in, actions out through
// the ActionSink. It opens no socket, reads no configuration and starts no timer: the transport
// calls tick() about once a second, and every expiry is also checked lazily where it matters.
import { Attr, encodeText, type TransportAddress } from '../stun/index.js';
import type { AllocationEndReason, AllocationView } from './allocation.js';
import { relayFromPeer } from './channel-data.js';
import { type KeySource, type NonceSource, TurnContext } from './context.js';
import { dispatchClientPacket } from './dispatch.js';
import { TurnConfigError } from './errors.js';
import type { FiveTuple } from './five-tuple.js';
import type { ActionSink, BoundRelay, RelayFailure, TurnEvents, TurnPolicy } from './hooks.js';
import { resolveLimits, type TurnLimits } from './limits.js';
import { relayAnswered } from './relay-answer.js';
import { collectRelayTraffic, pushRelayTables } from './relay-tables.js';

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

/** A TURN server core. Inputs never throw on wire data; actions go to the sink. */
export class TurnServer {
  readonly #ctx: TurnContext;

  constructor(options: TurnServerOptions) {
    checkText(options.realm, Attr.REALM, 'realm');
    if (options.software !== undefined) checkText(options.software, Attr.SOFTWARE, 'software');
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

  /** Allocations created since the server was made, live or ended since. */
  get allocationsCreated(): number {
    return this.#ctx.allocations.added;
  }

  /** A datagram (or one deframed stream message) from a client. */
  handleClientPacket(tuple: FiveTuple, data: Buffer): void {
    dispatchClientPacket(this.#ctx, tuple, data);
  }

  /** A datagram that arrived at relay `relayId` from `from` (dgram's rinfo fits). */
  handlePeerPacket(relayId: number, from: TransportAddress, data: Buffer): void {
    relayFromPeer(this.#ctx, relayId, from, data);
  }

  /** The transport's answer to bindRelay: the relay is open. */
  relayBound(ref: number, relay: BoundRelay): void {
    relayAnswered(this.#ctx, ref, relay);
  }

  /** The transport's answer to bindRelay: no relay (508, RFC 8656 section 7.2). */
  relayFailed(ref: number, reason: RelayFailure): void {
    relayAnswered(this.#ctx, ref, reason);
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
   * permissions and channels are forgotten (and pushed to a sink that keeps relay tables), traffic
   * counters are collected from such a sink and reported, old cached responses and reservations go.
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
      if (allocation.tableDeadline <= now) pushRelayTables(ctx, allocation, 'expired');
      collectRelayTraffic(ctx, allocation);
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

  /** Ends one allocation by id (admin action, key revocation); false when it is not live. */
  closeAllocation(id: number, reason: AllocationEndReason = 'policy'): boolean {
    const ctx = this.#ctx;
    for (const allocation of ctx.allocations.values()) {
      if (allocation.id === id) {
        ctx.deleteAllocation(allocation, reason);
        return true;
      }
    }
    return false;
  }

  /** Live allocations, of one tenant or all. */
  listAllocations(tenant?: string): AllocationView[] {
    const ctx = this.#ctx;
    return tenant === undefined ? [...ctx.allocations.values()] : [...ctx.allocations.ofTenant(tenant)];
  }

  /** The live allocation of `tuple`, if any (a stream transport keeps an idle connection that has one). */
  allocationOf(tuple: FiveTuple): AllocationView | undefined {
    return this.#ctx.allocations.byTuple(tuple.key);
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
}

/** REALM and SOFTWARE go into every challenge and response: refuse values the codec cannot encode. */
function checkText(text: string, type: number, name: string): void {
  let ok = text.length > 0;
  try {
    encodeText(text, type);
  } catch {
    ok = false;
  }
  if (!ok) throw new TurnConfigError('ICEGATE_TURN_BAD_OPTION', `${name} must be 1 to 127 characters`);
}
