import type { Allocation } from './allocation.js';

/**
 * The live allocations, indexed three ways with O(1) lookups: by 5-tuple (client packets,
 * RFC 8656 section 5), by relay (peer packets, section 11.3) and by tenant (quota, admin).
 * It also counts Allocates that passed the quota check but have no relay yet, so concurrent
 * requests cannot overshoot a quota.
 */
export class AllocationTable {
  readonly #byTuple = new Map<string, Allocation>();
  readonly #byRelay = new Map<number, Allocation>();
  readonly #byTenant = new Map<string, Set<Allocation>>();
  readonly #pendingByTenant = new Map<string, number>();
  // Per credential (REST username): live and pending counts for the per-user cap.
  readonly #byUser = new Map<string, number>();
  readonly #pendingByUser = new Map<string, number>();

  /** Allocations added since the table was made (live or ended since). */
  #added = 0;

  /** Live allocations. */
  get size(): number {
    return this.#byTuple.size;
  }

  byTuple(key: string): Allocation | undefined {
    return this.#byTuple.get(key);
  }

  byRelay(relayId: number): Allocation | undefined {
    return this.#byRelay.get(relayId);
  }

  /** The tenant's live allocations (a live set: copy before deleting while iterating). */
  ofTenant(tenant: string): ReadonlySet<Allocation> {
    return this.#byTenant.get(tenant) ?? EMPTY;
  }

  /** Live plus reserved (pending) allocations of `tenant`: what a quota compares against. */
  tenantLoad(tenant: string): number {
    return (this.#byTenant.get(tenant)?.size ?? 0) + (this.#pendingByTenant.get(tenant) ?? 0);
  }

  /** Live plus reserved (pending) allocations of one credential: what the per-user cap compares against. */
  userLoad(username: string): number {
    return (this.#byUser.get(username) ?? 0) + (this.#pendingByUser.get(username) ?? 0);
  }

  /** Holds a quota slot for an Allocate that is waiting for its relay. */
  reserve(tenant: string, username: string): void {
    bump(this.#pendingByTenant, tenant, 1);
    bump(this.#pendingByUser, username, 1);
  }

  /** Gives back a slot taken by reserve(). */
  release(tenant: string, username: string): void {
    bump(this.#pendingByTenant, tenant, -1);
    bump(this.#pendingByUser, username, -1);
  }

  /** How many allocations were ever added (live or ended since). */
  get added(): number {
    return this.#added;
  }

  add(allocation: Allocation): void {
    this.#added++;
    this.#byTuple.set(allocation.tuple.key, allocation);
    for (const relayId of allocation.relayIds()) this.#byRelay.set(relayId, allocation);
    let set = this.#byTenant.get(allocation.tenant);
    if (set === undefined) {
      set = new Set();
      this.#byTenant.set(allocation.tenant, set);
    }
    if (!set.has(allocation)) {
      set.add(allocation);
      bump(this.#byUser, allocation.username, 1);
    }
  }

  remove(allocation: Allocation): void {
    if (this.#byTuple.get(allocation.tuple.key) === allocation) this.#byTuple.delete(allocation.tuple.key);
    for (const relayId of allocation.relayIds()) this.forgetRelay(allocation, relayId);
    const set = this.#byTenant.get(allocation.tenant);
    if (set?.delete(allocation) === true) bump(this.#byUser, allocation.username, -1);
    if (set !== undefined) {
      if (set.size === 0) this.#byTenant.delete(allocation.tenant);
    }
  }

  /** Unindexes one relay of `allocation` (a dual allocation giving up one family). */
  forgetRelay(allocation: Allocation, relayId: number): void {
    if (this.#byRelay.get(relayId) === allocation) this.#byRelay.delete(relayId);
  }

  values(): IterableIterator<Allocation> {
    return this.#byTuple.values();
  }
}

const EMPTY: ReadonlySet<Allocation> = new Set();

function bump(counts: Map<string, number>, key: string, by: number): void {
  const n = (counts.get(key) ?? 0) + by;
  if (n > 0) counts.set(key, n);
  else counts.delete(key);
}
