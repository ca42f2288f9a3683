// The shared (L2) entitlement cache in Redis: one string per tenant holding the answer and its
// deadlines as JSON, expiring with PX at its stale deadline. Every failure is reported to
// RedisHealth and turned into "no answer", so a dead Redis never fails a lookup.
import type { Redis } from 'ioredis';
import { type CachedEntitlement, parseCachedEntitlement } from './cached-entitlement.js';
import type { RedisHealth } from './redis-health.js';

/** Entitlement answers shared by the fleet through Redis. */
export class RedisEntitlementCache {
  constructor(
    private readonly redis: Redis,
    private readonly health: RedisHealth,
    /** Prefix of every key of this deployment, e.g. 'icegate:'. */
    private readonly prefix: string,
  ) {}

  #key(tenant: string): string {
    return `${this.prefix}entitlement:${tenant}`;
  }

  /** The stored answer, or undefined when absent, malformed or Redis is unreachable. */
  async get(tenant: string): Promise<CachedEntitlement | undefined> {
    try {
      const text = await this.redis.get(this.#key(tenant));
      this.health.success();
      if (text === null) return undefined;
      return parseCachedEntitlement(text, tenant) ?? undefined;
    } catch (err) {
      this.health.failure('command', err);
      return undefined;
    }
  }

  /** Stores an answer until its stale deadline; best effort. */
  async set(tenant: string, entry: CachedEntitlement, now: number): Promise<void> {
    const ttl = Math.ceil(entry.staleUntil - now);
    if (ttl <= 0) return;
    try {
      await this.redis.set(this.#key(tenant), JSON.stringify(entry), 'PX', ttl);
      this.health.success();
    } catch (err) {
      this.health.failure('command', err);
    }
  }

  /** Drops a tenant's answer; best effort. */
  async delete(tenant: string): Promise<void> {
    try {
      await this.redis.del(this.#key(tenant));
      this.health.success();
    } catch (err) {
      this.health.failure('command', err);
    }
  }
}
