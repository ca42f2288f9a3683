// "Tenant changed" notifications (issue 4): any change to a tenant's orders or keys is
// announced so every node drops what it cached about that tenant and, in the composition
// root, closes allocations the change ends.

/**
 * What changed: the order history (and so the entitlement), or a license key. `key_uncertain`:
 * a write to the key (a reissue) failed in a way that may have committed, so its state must be
 * read from the store again; nothing is closed on it.
 */
export type TenantChangeKind = 'orders' | 'key_revoked' | 'key_issued' | 'key_uncertain';

/** One change to one tenant. */
export interface TenantChange {
  tenant: string;
  kind: TenantChangeKind;
  /** The key revoked or issued, for the key kinds. */
  keyId?: string;
}

/** Called for every change, local or from another node. */
export type TenantChangeListener = (change: TenantChange) => void;

/** The fleet-wide bus of tenant changes; in-process when there is no Redis. */
export interface TenantEvents {
  /**
   * Announces a change: listeners of this process are called before it returns, then other
   * nodes are told. Never rejects: a fleet delivery failure is counted and logged, and the
   * other nodes fall back to their short cache lifetimes.
   */
  publish(change: TenantChange): Promise<void>;
  /** Registers a listener; returns the function that removes it. */
  subscribe(listener: TenantChangeListener): () => void;
  /**
   * Registers a listener called when fleet delivery comes back after an outage: changes made
   * meanwhile may have been missed, so caches should be dropped whole.
   */
  onResync(listener: () => void): () => void;
  /** False while changes from other nodes may be missed (Redis subscriber not connected). */
  readonly connected: boolean;
  /** Stops listening to the fleet. */
  close(): Promise<void>;
}

/** The Redis channel the fleet publishes on, below the deployment's key prefix. */
export const TENANT_CHANGED_CHANNEL = 'tenant-changed';

const KINDS: ReadonlySet<string> = new Set<TenantChangeKind>([
  'orders',
  'key_revoked',
  'key_issued',
  'key_uncertain',
]);

/** Reads a change from untrusted JSON; null for anything that is not one. */
export function parseTenantChange(value: unknown): TenantChange | null {
  if (typeof value !== 'object' || value === null) return null;
  const v = value as Record<string, unknown>;
  if (typeof v.tenant !== 'string' || v.tenant.length === 0 || v.tenant.length > 256) return null;
  if (typeof v.kind !== 'string' || !KINDS.has(v.kind)) return null;
  const change: TenantChange = { tenant: v.tenant, kind: v.kind as TenantChangeKind };
  if (v.keyId !== undefined) {
    if (typeof v.keyId !== 'string' || v.keyId.length === 0 || v.keyId.length > 256) return null;
    change.keyId = v.keyId;
  }
  return change;
}
