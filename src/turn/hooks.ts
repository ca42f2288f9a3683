// The seams of the core: policy the composition root decides (entitlement, quota, peer filter),
// events it observes (metrics, logs, usage), and the sink that carries the core's actions out.
import type { TransportAddress } from '../stun/index.js';
import type { AllocationEndReason, AllocationView } from './allocation.js';
import type { ClientTransport, FiveTuple } from './five-tuple.js';
import type { TrafficCounters } from './traffic.js';

/** Which request asks `authorize`. */
export type AuthorizeMethod = 'allocate' | 'refresh';

/** What `authorize` learns about the request besides tenant and username. */
export interface AuthorizeContext {
  method: AuthorizeMethod;
  transport: ClientTransport;
  client: TransportAddress;
  /** The REST username's opaque part (an end-user id), if any. */
  opaque: string | undefined;
  /** Set on Refresh. */
  allocationId?: number;
}

/**
 * The policy's answer. Denied Allocates get `code` (403 by default); a denied Refresh gets 403
 * and ends the allocation. `maxAllocations` caps the tenant's concurrent allocations and
 * `maxAllocationsPerUser` those of one username (486 beyond either).
 */
export type AuthDecision =
  | { allowed: true; maxAllocations?: number; maxAllocationsPerUser?: number }
  | { allowed: false; reason: string; code?: 403 | 486 | 508 };

/** A peer address verdict (the PeerFilter's result fits). */
export type PeerVerdict = { allowed: true } | { allowed: false; reason: string };

/** Policy hooks, supplied by the composition root. Hooks must not throw (authorize may reject). */
export interface TurnPolicy {
  /**
   * Called on every Allocate and every Refresh with a non-zero lifetime, after authentication.
   * May return a promise; meanwhile retransmissions are dropped and the Allocate holds a quota slot.
   * A rejected promise answers 500 and changes nothing. Omitted: everyone authenticated is allowed.
   */
  authorize?(
    tenant: string,
    username: string,
    context: AuthorizeContext,
  ): AuthDecision | Promise<AuthDecision>;
  /** Extra quota check on Allocate; `load` counts live and pending allocations of the tenant. False answers 486. */
  checkQuota?(tenant: string, load: number): boolean;
  /** Peer address policy for CreatePermission and ChannelBind (403 when denied), RFC 8656 sections 10.2, 12.2. */
  checkPeer(address: string): PeerVerdict;
}

/** Why a client failed authentication (RFC 8489 section 9.2.4). */
export type AuthFailureReason =
  | 'missing-attributes'
  | 'bad-username'
  | 'expired-username'
  | 'bad-integrity'
  | 'stale-nonce'
  | 'invalid-nonce'
  | 'wrong-credentials';

/** Why a packet was dropped without an answer. */
export type DropReason =
  | 'empty'
  | 'not-stun'
  | 'malformed'
  | 'unexpected-class'
  | 'unknown-indication'
  | 'unknown-attribute'
  | 'retransmission-in-progress'
  | 'no-allocation'
  | 'no-channel'
  | 'short-channel-data'
  | 'no-permission'
  | 'bad-send-indication'
  | 'unknown-relay'
  | 'too-large'
  /** An unproven UDP source is over its answer budget (reflection guard, limits.unauthenticated*). */
  | 'rate-limited';

/** Observations for metrics, logs and accounting. All optional; handlers must not throw. */
export interface TurnEvents {
  allocationCreated?(allocation: AllocationView): void;
  /** `lifetime` is the new time-to-expiry in seconds. */
  allocationRefreshed?(allocation: AllocationView, lifetime: number): void;
  /** `durationMs` from creation to deletion; the final traffic is in `allocation.traffic`. */
  allocationDeleted?(allocation: AllocationView, reason: AllocationEndReason, durationMs: number): void;
  /** Traffic since the previous report of this allocation; reported on tick() and at deletion. */
  trafficRelayed?(allocation: AllocationView, delta: TrafficCounters): void;
  permissionDenied?(peer: TransportAddress, reason: string, allocation: AllocationView): void;
  authFailed?(reason: AuthFailureReason, tuple: FiveTuple): void;
  /** The authorize hook refused an Allocate or Refresh. */
  authorizeDenied?(tenant: string, reason: string, method: AuthorizeMethod): void;
  quotaRefused?(tenant: string, load: number): void;
  /**
   * Every answered request: `code` is 200 for success, else the error code. `withIntegrity` says
   * whether the request carried MESSAGE-INTEGRITY: a 401 to one without it is the normal first
   * challenge of the long-term credential mechanism (RFC 8489 section 9.2.4), not a failure.
   * `client` is the requester's address (tests use it to record which client refreshes what and when).
   */
  requestAnswered?(
    method: number,
    code: number,
    transport: ClientTransport,
    withIntegrity: boolean,
    client: TransportAddress,
  ): void;
  packetDropped?(reason: DropReason): void;
}

/** A relay socket the transport should open for an Allocate (RFC 8656 section 7.2). */
export interface RelayRequest {
  /** Pass it back to relayBound / relayFailed. */
  ref: number;
  family: TransportAddress['family'];
  /** EVEN-PORT: the port must be even (section 7.2). */
  evenPort: boolean;
  /** EVEN-PORT with R: also hold port + 1 and report it as `reserved`. */
  reserveNext: boolean;
  /**
   * The 5-tuple of the Allocate (always set by the core): a transport may place the relay by it, as
   * a native plane serves the UDP clients of its own listener.
   */
  tuple?: FiveTuple;
  /** One of the two relays of a dual allocation (ADDITIONAL-ADDRESS-FAMILY; always set by the core). */
  dual?: boolean;
}

/** A relay socket the transport opened. */
export interface BoundRelay {
  relayId: number;
  /** The address to advertise (the external IP and the bound port). */
  address: TransportAddress;
  /** The port-plus-one socket when reserveNext was asked. */
  reserved?: { relayId: number; address: TransportAddress };
}

/** Why a relay could not be opened: `exhausted` is the port range (508), `error` anything else. */
export type RelayFailure = 'exhausted' | 'error';

/** A channel binding as a data plane outside the core needs it (RFC 8656 section 12). */
export interface RelayChannel {
  number: number;
  peer: TransportAddress;
}

/**
 * The whole forwarding table of one relay (RFC 8656 sections 9 and 12): where its peers' data
 * goes, which peer IPs are permitted and which channels are bound, live at the time of the call.
 */
export interface RelayTable {
  relayId: number;
  /** The allocation's 5-tuple: peer data goes to its client. */
  tuple: FiveTuple;
  /** IPs of this relay's family with a live permission (a permission is by IP, section 9). */
  permissions: readonly string[];
  /** Live channel bindings to peers of this relay's family. */
  channels: readonly RelayChannel[];
}

/**
 * Why a relay table is pushed: `client` (the allocation was created: the relay has its 5-tuple),
 * `permission` (CreatePermission installed or refreshed permissions), `channel` (ChannelBind bound
 * or refreshed a channel and its permission), `expired` (tick() found a permission or a channel
 * expired). The end of an allocation is closeRelay.
 */
export type RelayTableCause = 'client' | 'permission' | 'channel' | 'expired';

/**
 * Where the core's actions go. The transport implements it; tests record it. Calls happen
 * synchronously inside the core's inputs; bindRelay's answer may come back at any later time.
 */
export interface ActionSink {
  /** Sends one datagram (or stream chunk) made of `data` to the client of `tuple`. */
  sendToClient(tuple: FiveTuple, data: Buffer | readonly Buffer[]): void;
  /** Sends `data[offset, offset+length)` from relay `relayId` to `peer`. */
  sendToPeer(relayId: number, peer: TransportAddress, data: Buffer, offset: number, length: number): void;
  /** Opens a relay socket; answer with TurnServer.relayBound or relayFailed. */
  bindRelay(request: RelayRequest): void;
  /** Closes a relay socket and frees its port. */
  closeRelay(relayId: number): void;
  /**
   * Optional, for a data plane that relays without the core (the native one): the whole table of a
   * relay after a change, pushed before the answer that made the change is sent (so a client's next
   * packet finds it). Sinks without it cost the core nothing.
   */
  relayTableChanged?(table: RelayTable, cause: RelayTableCause): void;
  /**
   * Optional: adds to `into` what relay `relayId` relayed without the core since the last call
   * (payload packets and bytes). Called on tick() before trafficRelayed, and before closeRelay when
   * an allocation (or one family of it) ends.
   */
  collectTraffic?(relayId: number, into: TrafficCounters): void;
}
