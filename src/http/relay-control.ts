// What the admin API may ask of the relay on this node. The composition root implements it over
// the TURN core (listAllocations / closeAllocationsOfTenant); the HTTP layer sees nothing else.

/** A live allocation as the admin API shows it. */
export interface RelayAllocationSummary {
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
}
