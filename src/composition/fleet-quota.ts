// The per-tenant allocation quota counted across the fleet (issue 4; DESIGN.md
// TURN_ALLOCATIONS_PER_LICENSE). Every node keeps one sorted-set member per live allocation in
// `<prefix>alloc:<tenant>`, scored by the allocation's expiry, so an entry of a crashed node ages
// out by itself. An Allocate takes a slot atomically (a Lua script: drop expired members, count,
// add a short-lived pending member only while under the limit), so two nodes cannot both take
// the last slot. When Redis does not answer, the caller falls back to the per-node limit.

import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import type { Logger } from '../log/logger.js';
import type { TransportAddress } from '../stun/index.js';
import type { AllocationView, AuthorizeContext, TurnEvents } from '../turn/index.js';

/** Where failures of the ledger are reported (the process's RedisHealth fits). */
export interface FleetQuotaHealth {
  failure(operation: 'command', err: unknown): void;
  success(): void;
  onChange(listener: (down: boolean) => void): () => void;
}

/** Options of the fleet ledger. */
export interface FleetQuotaOptions {
  /** The command connection (commands fail at once while disconnected). */
  redis: Redis;
  /** Prefix of every Redis key of this deployment, e.g. 'icegate:'. */
  prefix: string;
  health: FleetQuotaHealth;
  logger: Logger;
  /** Unique per process; default host name, pid and random bits. */
  nodeId?: string;
  /** TURN_MAX_LIFETIME in seconds: bounds every member's score, so the key's own expiry. */
  maxLifetimeSeconds: number;
  /** Life of the slot an Allocate holds between authorize and its relay being bound (default 10 s). */
  pendingTtlMs?: number;
  clock?: () => number;
}

/** The answer of `admit`: a slot was taken, the tenant is full, or Redis did not answer. */
export type FleetAdmission =
  | { result: 'admitted'; count: number }
  | { result: 'full'; count: number }
  | { result: 'unknown' };

// KEYS[1] the tenant's ledger; ARGV: now, limit, pending member, pending expiry, key ttl (ms).
// The member is removed first, so a client retrying from the same 5-tuple never counts itself.
const ADMIT_SCRIPT = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
redis.call('ZREM', KEYS[1], ARGV[3])
local count = redis.call('ZCARD', KEYS[1])
if count >= tonumber(ARGV[2]) then return {0, count} end
redis.call('ZADD', KEYS[1], ARGV[4], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return {1, count + 1}
`;

function addressText(a: TransportAddress): string {
  return a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}

/** A process id for ledger members: readable in `ZRANGE` (the pod name on Kubernetes), and unique. */
export function defaultNodeId(): string {
  return `${hostname()}/${process.pid}/${randomBytes(4).toString('hex')}`;
}

/** Live allocations of every node, per tenant, in Redis. */
export class FleetQuota {
  readonly nodeId: string;
  readonly #options: FleetQuotaOptions;
  readonly #clock: () => number;
  readonly #pendingTtlMs: number;
  readonly #keyTtlMs: number;
  readonly #log: Logger;
  // Deletions Redis did not take while it was down: retried when it answers again.
  readonly #unremoved = new Map<string, Set<string>>();
  #live: (() => readonly AllocationView[]) | null = null;
  readonly #offHealth: () => void;
  #closed = false;

  constructor(options: FleetQuotaOptions) {
    this.#options = options;
    this.nodeId = options.nodeId ?? defaultNodeId();
    this.#clock = options.clock ?? Date.now;
    this.#pendingTtlMs = options.pendingTtlMs ?? 10_000;
    this.#keyTtlMs = (options.maxLifetimeSeconds + 60) * 1000;
    this.#log = options.logger.child({ component: 'fleet-quota' });
    this.#offHealth = options.health.onChange((down) => {
      if (!down) void this.resync();
    });
  }

  /** The ledger key of `tenant`. */
  keyOf(tenant: string): string {
    return `${this.#options.prefix}alloc:${tenant}`;
  }

  /** Gives the ledger the node's live allocations, re-announced after a Redis outage. */
  attach(live: () => readonly AllocationView[]): void {
    this.#live = live;
  }

  /**
   * Takes one of `tenant`'s `limit` fleet-wide slots for the Allocate described by `context`,
   * or says the tenant is full. 'unknown' when Redis did not answer (the caller falls back to
   * the per-node limit; the failure is counted by `health`).
   */
  async admit(tenant: string, context: AuthorizeContext, limit: number): Promise<FleetAdmission> {
    const now = this.#clock();
    try {
      const reply = (await this.#options.redis.eval(
        ADMIT_SCRIPT,
        1,
        this.keyOf(tenant),
        String(now),
        String(limit),
        this.#pendingMember(context.transport, context.client),
        String(now + this.#pendingTtlMs),
        String(this.#keyTtlMs),
      )) as [number, number];
      this.#options.health.success();
      return reply[0] === 1 ? { result: 'admitted', count: reply[1] } : { result: 'full', count: reply[1] };
    } catch (err) {
      this.#options.health.failure('command', err);
      return { result: 'unknown' };
    }
  }

  /** Live (unexpired) allocations of `tenant` on every node; null when Redis does not answer. */
  async count(tenant: string): Promise<number | null> {
    try {
      return await this.#options.redis.zcount(this.keyOf(tenant), `(${this.#clock()}`, '+inf');
    } catch (err) {
      this.#options.health.failure('command', err);
      return null;
    }
  }

  /** The TurnEvents that keep this node's members in step with its allocations. */
  events(): Required<Pick<TurnEvents, 'allocationCreated' | 'allocationRefreshed' | 'allocationDeleted'>> {
    return {
      allocationCreated: (a) => {
        const key = this.keyOf(a.tenant);
        this.#run(
          this.#options.redis
            .multi()
            .zrem(key, this.#pendingMember(a.tuple.transport, a.tuple.client))
            .zadd(key, a.expiresAt, this.#member(a))
            .pexpire(key, this.#keyTtlMs)
            .exec(),
        );
      },
      allocationRefreshed: (a) => {
        const key = this.keyOf(a.tenant);
        // A plain ZADD: it also puts back a member lost while Redis was down.
        this.#run(
          this.#options.redis
            .multi()
            .zadd(key, a.expiresAt, this.#member(a))
            .pexpire(key, this.#keyTtlMs)
            .exec(),
        );
      },
      allocationDeleted: (a) => {
        const member = this.#member(a);
        this.#run(this.#options.redis.zrem(this.keyOf(a.tenant), member), () => {
          const set = this.#unremoved.get(a.tenant) ?? new Set<string>();
          set.add(member);
          this.#unremoved.set(a.tenant, set);
        });
      },
    };
  }

  /** After an outage: puts back this node's live allocations and removes the ones that ended meanwhile. */
  async resync(): Promise<void> {
    if (this.#closed) return;
    const pipeline = this.#options.redis.pipeline();
    let writes = 0;
    for (const [tenant, members] of this.#unremoved) {
      pipeline.zrem(this.keyOf(tenant), ...members);
      writes++;
    }
    const live = this.#live?.() ?? [];
    for (const a of live) {
      pipeline
        .zadd(this.keyOf(a.tenant), a.expiresAt, this.#member(a))
        .pexpire(this.keyOf(a.tenant), this.#keyTtlMs);
      writes++;
    }
    if (writes === 0) return;
    const unremoved = new Map(this.#unremoved);
    this.#unremoved.clear();
    try {
      await pipeline.exec();
      this.#log.info('fleet allocation ledger resynchronised', { allocations: live.length });
    } catch (err) {
      for (const [tenant, members] of unremoved) this.#unremoved.set(tenant, members);
      this.#options.health.failure('command', err);
    }
  }

  /** Removes this node's members (at shutdown, after its allocations ended). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#offHealth();
    const live = this.#live?.() ?? [];
    if (live.length === 0) return;
    const pipeline = this.#options.redis.pipeline();
    for (const a of live) pipeline.zrem(this.keyOf(a.tenant), this.#member(a));
    await pipeline.exec().catch(() => undefined);
  }

  #member(a: AllocationView): string {
    return `${this.nodeId}:a:${a.id}`;
  }

  #pendingMember(transport: string, client: TransportAddress): string {
    return `${this.nodeId}:p:${transport}:${addressText(client)}`;
  }

  #run(write: Promise<unknown>, onFailure?: () => void): void {
    write.then(
      (reply) => {
        // MULTI's exec answers [[err, result], ...] instead of rejecting on a failed command.
        const failed = Array.isArray(reply)
          ? reply.find((r) => Array.isArray(r) && r[0] instanceof Error)
          : undefined;
        if (failed !== undefined) {
          this.#options.health.failure('command', (failed as [Error, unknown])[0]);
          onFailure?.();
        }
      },
      (err: unknown) => {
        this.#options.health.failure('command', err);
        onFailure?.();
      },
    );
  }
}
