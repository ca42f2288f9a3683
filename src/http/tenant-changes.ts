// After every write to a tenant, tell the fleet (issue 4): caches drop the tenant, and the
// relay ends what a revoked key or a lost entitlement no longer allows.
import type { TenantEvents } from '../entitlement/cache/tenant-events.js';
import type { StoreChanges } from '../entitlement/store/store.js';

/** Publishes the changes of one write to `tenant`: revoked keys, then the issued key or the orders. */
export async function publishChanges(
  events: Pick<TenantEvents, 'publish'>,
  tenant: string,
  changes: StoreChanges,
  issuedKeyId?: string,
): Promise<void> {
  for (const keyId of changes.revokedKeys) await events.publish({ tenant, kind: 'key_revoked', keyId });
  if (issuedKeyId !== undefined) await events.publish({ tenant, kind: 'key_issued', keyId: issuedKeyId });
  else if (changes.revokedKeys.length === 0 && changes.tenants.length > 0) {
    await events.publish({ tenant, kind: 'orders' });
  }
}
