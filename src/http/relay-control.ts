// What the admin API may ask of the relay on this node. The composition root implements it over
// the TURN core (listAllocations / closeAllocationsOfTenant); the HTTP layer sees nothing else.

/** A live allocation as the admin API shows it. */
export interface RelayAllocationSummary {
  /** The node that holds it (its fleet ledger id); `id` is unique on that node only. */
  node: string;
  id: number;
  tenant: string;
  username: string;
  /** The license key the credential was minted from (from the username's opaque part), if known. */
  keyId: string | null;
  transport: 'udp' | 'tcp' | 'tls';
  /** Client transport address, `ip:port`. */
  client: string;
  /** Relayed transport address, `ip:port`. */
  relayed: string;
  createdAt: string;
  expiresAt: string;
}

/** Relay operations the admin API uses. */
export interface RelayControl {
  /** The live allocations on this node, of one tenant or of all. */
  listAllocations(
    tenant?: string,
  ): readonly RelayAllocationSummary[] | Promise<readonly RelayAllocationSummary[]>;
  /** Closes the tenant's live allocations on this node; answers how many. */
  closeAllocationsOfTenant(tenant: string, reason: string): number | Promise<number>;
  /**
   * The tenant's allocations on every node of the fleet (absent: a single node, answered by
   * listAllocations): `unreachable` names the nodes that did not answer in time.
   */
  listFleetAllocations?(tenant: string): Promise<FleetAllocations>;
  /** Closes the tenant's allocations on every node of the fleet. */
  closeFleetAllocations?(tenant: string): Promise<FleetClosed>;
}

/** Which nodes answered a fleet-wide admin request; `complete` is false when any did not. */
export interface FleetCoverageSummary {
  answered: string[];
  unreachable: string[];
  complete: boolean;
}

/** A fleet-wide allocation list. */
export type FleetAllocations = FleetCoverageSummary & { allocations: RelayAllocationSummary[] };

/** The outcome of a fleet-wide close. */
export type FleetClosed = FleetCoverageSummary & { closed: number };
