// Entitlement enforcement on live allocations (issue 4): when a tenant changes anywhere in the
// fleet (orders imported, key reissued or revoked: the TenantEvents bus), and periodically for
// support that simply runs out, every node re-checks the tenants it relays for and closes what is
// no longer entitled, after a short configurable grace.
//
// Support that lapses lapses at a known instant (00:00 JST after its last day): an entitlement
// answer is never relied on past the tenant's next change (its expiresAt), so every node re-checks
// each tenant it relays for exactly when its answer runs out (issue 15). The lapse is cut at that
// instant, on every node, without waiting for the periodic sweep.
import type { TenantChange, TenantEvents } from '../entitlement/cache/index.js';
import { parseCredentialOpaque } from '../http/index.js';
import type { Logger } from '../log/logger.js';
import type { AllocationView, TurnEvents } from '../turn/index.js';
import type { RelayObserver } from './relay-observer.js';
import type { EntitlementSource, LicenseKeySource } from './relay-policy.js';

/** The relay operations enforcement needs (the TurnServer). */
export interface EnforcedRelay {
  listAllocations(tenant?: string): AllocationView[];
  closeAllocation(id: number): boolean;
  closeAllocationsOfTenant(tenant: string): number;
}

/** Options of the enforcer. */
export interface EnforcementOptions {
  relay: EnforcedRelay;
  /** Tenant changes; `onResync` (Redis back after an outage: changes may have been missed) when offered. */
  events: Pick<TenantEvents, 'subscribe'> & Partial<Pick<TenantEvents, 'onResync'>>;
  /**
   * License keys (the fleet-invalidated LicenseKeyCache): after a resync, the keys of live
   * allocations are read again, so a key revoked during a Redis outage ends its allocations then,
   * not at their next Refresh. Absent: not re-read.
   */
  keys?: LicenseKeySource;
  entitlements: EntitlementSource;
  observer: RelayObserver;
  logger: Logger;
  /** Delay between learning of a change and cutting allocations, ms (default 0; issue 4 allows up to 5 s). */
  graceMs?: number;
  /** Period of the sweep over tenants with live allocations, ms (default 30 s). */
  sweepMs?: number;
  /** After a failed lookup at a lapse check, ask again this much later, ms (default 1 s). */
  retryMs?: number;
  clock?: () => number;
}

// setTimeout's longest delay; answers live at most minutes, so this only guards odd clocks.
const MAX_TIMER_MS = 2_147_483_647;

/** The keyId a relay credential was minted from (in the REST username's opaque part). */
function keyIdOf(allocation: AllocationView): string | null {
  return allocation.opaque === undefined ? null : (parseCredentialOpaque(allocation.opaque)?.keyId ?? null);
}

/** Watches tenant changes and support end dates; closes allocations that lost their right to relay. */
export class Enforcement {
  readonly #unsubscribe: (() => void)[];
  readonly #sweep: NodeJS.Timeout;
  readonly #timers = new Set<NodeJS.Timeout>();
  // One re-check per tenant, at the instant its current answer runs out (its next change at the latest).
  readonly #lapseChecks = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  readonly #log: Logger;
  readonly #clock: () => number;
  #closed = false;

  constructor(private readonly options: EnforcementOptions) {
    this.#log = options.logger.child({ component: 'enforcement' });
    this.#clock = options.clock ?? Date.now;
    this.#unsubscribe = [options.events.subscribe((change) => this.#onChange(change))];
    const onResync = options.events.onResync?.bind(options.events);
    // After the caches' own resync listeners (registered first) dropped what may be stale.
    if (onResync !== undefined) this.#unsubscribe.push(onResync(() => this.#later(() => this.resync())));
    this.#sweep = setInterval(() => void this.sweep(), options.sweepMs ?? 30_000);
    this.#sweep.unref();
  }

  #later(action: () => unknown): void {
    const grace = this.options.graceMs ?? 0;
    if (grace <= 0) {
      void Promise.resolve(action());
      return;
    }
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      void Promise.resolve(action());
    }, grace);
    this.#timers.add(timer);
  }

  #onChange(change: TenantChange): void {
    if (change.kind === 'key_revoked' && change.keyId !== undefined) {
      const keyId = change.keyId;
      this.#later(() => this.closeKey(change.tenant, keyId));
    }
    this.#later(() => this.checkTenant(change.tenant));
  }

  /** Closes the allocations whose credentials came from `keyId`. */
  closeKey(tenant: string, keyId: string): number {
    let closed = 0;
    this.options.observer.setPolicyReason(tenant, 'license_revoked');
    for (const allocation of this.options.relay.listAllocations(tenant)) {
      if (keyIdOf(allocation) === keyId && this.options.relay.closeAllocation(allocation.id)) closed++;
    }
    this.options.observer.clearPolicyReason(tenant);
    if (closed > 0) this.#log.warn('allocations closed: license key revoked', { tenant, keyId, closed });
    return closed;
  }

  /** The TurnEvents that start watching a tenant's answer deadline with its first allocation. */
  events(): Required<Pick<TurnEvents, 'allocationCreated'>> {
    return {
      allocationCreated: (a) => {
        if (!this.#lapseChecks.has(a.tenant)) void this.checkTenant(a.tenant);
      },
    };
  }

  /** Re-checks `tenant` at `at` (ms), unless a check at or before then is already set. */
  #checkAt(tenant: string, at: number): void {
    const set = this.#lapseChecks.get(tenant);
    if (set !== undefined && set.at <= at) return;
    if (set !== undefined) clearTimeout(set.timer);
    const delay = Math.min(MAX_TIMER_MS, Math.max(1, at - this.#clock()));
    const timer = setTimeout(() => {
      this.#lapseChecks.delete(tenant);
      void this.checkTenant(tenant);
    }, delay);
    timer.unref();
    this.#lapseChecks.set(tenant, { at, timer });
  }

  /** Re-checks one tenant; closes all its allocations when it is no longer entitled. */
  async checkTenant(tenant: string): Promise<number> {
    if (this.#closed || this.options.relay.listAllocations(tenant).length === 0) return 0;
    let active: boolean;
    try {
      const answer = await this.options.entitlements.get(tenant, this.#clock());
      active = answer.active;
      // Ask again when this answer runs out: it never outlives the tenant's next change.
      if (active) this.#checkAt(tenant, answer.expiresAt.getTime());
    } catch {
      // Unknown is not "revoked": live calls keep running; Refresh re-checks within minutes. A
      // lapse check that could not ask is tried again shortly.
      this.#checkAt(tenant, this.#clock() + (this.options.retryMs ?? 1_000));
      return 0;
    }
    if (active) return 0;
    this.options.observer.setPolicyReason(tenant, 'entitlement_revoked');
    const closed = this.options.relay.closeAllocationsOfTenant(tenant);
    this.options.observer.clearPolicyReason(tenant);
    if (closed > 0) this.#log.warn('allocations closed: tenant no longer entitled', { tenant, closed });
    return closed;
  }

  /**
   * After missed fleet changes (a Redis outage): reads the key of every live allocation again and
   * closes those whose key was revoked (or moved) meanwhile, then re-checks every tenant.
   */
  async resync(): Promise<number> {
    let closed = 0;
    const keys = this.options.keys;
    if (keys !== undefined) {
      const byKey = new Map<string, string>();
      for (const a of this.options.relay.listAllocations()) {
        const keyId = keyIdOf(a);
        if (keyId !== null) byKey.set(keyId, a.tenant);
      }
      for (const [keyId, tenant] of byKey) {
        let key: { tenant: string; revokedAt: Date | null } | null;
        try {
          key = await keys.lookup(keyId);
        } catch {
          continue; // unknown is not "revoked": Refresh re-checks
        }
        if (key === null || key.tenant !== tenant || key.revokedAt !== null)
          closed += this.closeKey(tenant, keyId);
      }
    }
    await this.sweep();
    return closed;
  }

  /** Checks every tenant with live allocations (support can end without any event). */
  async sweep(): Promise<void> {
    const tenants = new Set(this.options.relay.listAllocations().map((a) => a.tenant));
    for (const tenant of tenants) await this.checkTenant(tenant);
  }

  close(): void {
    this.#closed = true;
    for (const check of this.#lapseChecks.values()) clearTimeout(check.timer);
    this.#lapseChecks.clear();
    for (const off of this.#unsubscribe) off();
    clearInterval(this.#sweep);
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }
}
