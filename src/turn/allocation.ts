import type { TransportAddress } from '../stun/index.js';
import { ChannelTable } from './channel-table.js';
import type { FiveTuple } from './five-tuple.js';
import { PermissionTable } from './permission-table.js';
import { TrafficCounters } from './traffic.js';

/** Why an allocation ended. `refresh-0` is the client's own delete (RFC 8656 section 8.2). */
export type AllocationEndReason =
  | 'expired'
  | 'refresh-0'
  | 'policy'
  | 'transport-closed'
  | 'relay-error'
  | 'shutdown';

/** One relayed transport address of an allocation and the relay socket behind it. */
export interface RelayedAddress {
  readonly relayId: number;
  readonly address: TransportAddress;
}

/** What the outside (events, admin API) may read about an allocation. */
export interface AllocationView {
  readonly id: number;
  readonly tenant: string;
  readonly username: string;
  /** The opaque part of the REST username (an end-user id), if any. */
  readonly opaque: string | undefined;
  readonly tuple: FiveTuple;
  /** The relayed transport address as advertised in XOR-RELAYED-ADDRESS. */
  readonly relay: TransportAddress;
  readonly relayId: number;
  /** The IPv6 relayed address of a dual allocation (ADDITIONAL-ADDRESS-FAMILY, RFC 8656 section 7.2). */
  readonly additional?: RelayedAddress | null;
  /** Server clock, milliseconds. */
  readonly createdAt: number;
  readonly expiresAt: number;
  /** Relayed traffic so far (live counters: read, do not write). */
  readonly traffic: TrafficCounters;
  /** Permission and channel records held (expired ones until the next tick included). */
  readonly permissionCount: number;
  readonly channelCount: number;
}

/** Everything the identity of a new allocation needs. */
export interface AllocationInit {
  id: number;
  tuple: FiveTuple;
  username: string;
  tenant: string;
  opaque: string | undefined;
  relay: TransportAddress;
  relayId: number;
  /** The second relay of a dual allocation. */
  additional?: RelayedAddress | null;
  createdAt: number;
  expiresAt: number;
  /** Transaction id (hex) of the Allocate that created it, and the success response bytes. */
  allocateTransaction: string;
  allocateResponse: Buffer;
}

/**
 * A TURN allocation, RFC 8656 section 6: the 5-tuple, the relayed transport address, the
 * time-to-expiry, the permissions and the channel bindings, plus icegate's accounting.
 */
export class Allocation implements AllocationView {
  readonly id: number;
  readonly tuple: FiveTuple;
  readonly username: string;
  readonly tenant: string;
  readonly opaque: string | undefined;
  // Not readonly: a dual allocation whose IPv4 relay is deleted keeps its IPv6 relay as the only one.
  relay: TransportAddress;
  relayId: number;
  additional: RelayedAddress | null;
  readonly createdAt: number;
  expiresAt: number;
  readonly permissions = new PermissionTable();
  readonly channels = new ChannelTable();
  readonly traffic = new TrafficCounters();
  /** Counters as last reported through the trafficRelayed event. */
  readonly reported = new TrafficCounters();
  /** A retransmitted Allocate must get the same answer even after the transaction cache forgot it (section 7.2). */
  readonly allocateTransaction: string;
  allocateResponse: Buffer;
  /** Set once the allocation is deleted, so late async completions see it. */
  closed = false;
  /**
   * When the relay tables last pushed to the sink (relayTableChanged) stop being true: the first
   * expiry among the permissions and channels they listed. Infinity when none, or no such sink.
   */
  tableDeadline = Number.POSITIVE_INFINITY;

  get permissionCount(): number {
    return this.permissions.size;
  }

  get channelCount(): number {
    return this.channels.size;
  }

  constructor(init: AllocationInit) {
    this.id = init.id;
    this.tuple = init.tuple;
    this.username = init.username;
    this.tenant = init.tenant;
    this.opaque = init.opaque;
    this.relay = init.relay;
    this.relayId = init.relayId;
    this.additional = init.additional ?? null;
    this.createdAt = init.createdAt;
    this.expiresAt = init.expiresAt;
    this.allocateTransaction = init.allocateTransaction;
    this.allocateResponse = init.allocateResponse;
  }

  /** The relay socket for peers of `family`, or -1 when the allocation has no relayed address of it. */
  relayIdFor(family: TransportAddress['family']): number {
    if (family === this.relay.family) return this.relayId;
    return this.additional !== null && this.additional.address.family === family
      ? this.additional.relayId
      : -1;
  }

  /** Whether the allocation has a relayed address of `family` (RFC 8656 sections 10.2, 12.2: else 443). */
  hasFamily(family: TransportAddress['family']): boolean {
    return this.relayIdFor(family) >= 0;
  }

  /** Relay ids of every relayed address. */
  relayIds(): number[] {
    return this.additional === null ? [this.relayId] : [this.relayId, this.additional.relayId];
  }
}
