// The per-tenant allocation quota counted across the fleet (issue 4; DESIGN.md
// TURN_ALLOCATIONS_PER_LICENSE), and the per-credential cap (TURN_ALLOCATIONS_PER_USER). Every
// node keeps one sorted-set member per live allocation in `<prefix>alloc:<tenant>` (and, for a
// minted credential, in `<prefix>alloc-user:<username>`), scored by the allocation's expiry, so
// an entry ages out by itself. An Allocate takes a slot atomically (a Lua script: drop expired
// members, count, add a short-lived pending member only while under both limits), so two nodes
// cannot both take the last slot. When Redis does not answer, the caller falls back to the
// per-node limits.
//
// A node that dies (kill -9) must not hold its tenants' quota until its members expire (up to
// TURN_MAX_LIFETIME): each node records the ledger keys of its members in `<prefix>node:<id>`
// and heartbeats in `<prefix>nodes` (scored by Redis' own clock, so node clocks do not matter);
// every node, on its heartbeat, drops in one script the members of nodes silent for longer than
// the node timeout (node-liveness.ts).

import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { ChainableCommander, Redis } from 'ioredis';
import { RedisScript } from '../entitlement/cache/redis-script.js';
import { parseCredentialOpaque } from '../http/index.js';
import type { Logger } from '../log/logger.js';
import type { TransportAddress } from '../stun/index.js';
import type { AllocationView, AuthorizeContext, TurnEvents } from '../turn/index.js';
import { nodesKeyOf } from './node-liveness.js';

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

/** The answer of `admit`: a slot was taken, the tenant or the user is full, or Redis did not answer. */
export type FleetAdmission =
  | { result: 'admitted'; count: number }
  | { result: 'full'; count: number; scope: 'tenant' | 'user' }
  | { result: 'unknown' };

// KEYS[1] the tenant's ledger, KEYS[2] (optional) the user's; ARGV: now, tenant limit, pending
// member, pending expiry, key ttl (ms), user limit. The member is removed first, so a client
// retrying from the same 5-tuple never counts itself.
const ADMIT_SCRIPT = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
redis.call('ZREM', KEYS[1], ARGV[3])
local count = redis.call('ZCARD', KEYS[1])
if count >= tonumber(ARGV[2]) then return {0, count, 'tenant'} end
if #KEYS > 1 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
  redis.call('ZREM', KEYS[2], ARGV[3])
  local mine = redis.call('ZCARD', KEYS[2])
  if mine >= tonumber(ARGV[6]) then return {0, mine, 'user'} end
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[3])
  redis.call('PEXPIRE', KEYS[2], ARGV[5])
end
redis.call('ZADD', KEYS[1], ARGV[4], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return {1, count + 1, ''}
`;
const ADMIT = new RedisScript(ADMIT_SCRIPT);

function addressText(a: TransportAddress): string {
  return a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}

/** The hash naming a node's ledger members and the keys each is counted in. */
export function nodeKeyOf(prefix: string, nodeId: string): string {
  return `${prefix}node:${nodeId}`;
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

  /** The ledger key of one credential (REST username). */
  userKeyOf(username: string): string {
    return `${this.#options.prefix}alloc-user:${username}`;
  }

  /** The hash of this node's members and their ledger keys (what a reaper drops when it dies). */
  get nodeKey(): string {
    return nodeKeyOf(this.#options.prefix, this.nodeId);
  }

  /** The ledger keys an allocation is counted in: its tenant's, and its user's for a minted credential. */
  #keysOf(a: AllocationView): string[] {
    const minted = a.opaque !== undefined && parseCredentialOpaque(a.opaque) !== null;
    return minted ? [this.keyOf(a.tenant), this.userKeyOf(a.username)] : [this.keyOf(a.tenant)];
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
  async admit(
    tenant: string,
    context: AuthorizeContext,
    limit: number,
    user?: { username: string; limit: number },
  ): Promise<FleetAdmission> {
    const now = this.#clock();
    const keys =
      user === undefined ? [this.keyOf(tenant)] : [this.keyOf(tenant), this.userKeyOf(user.username)];
    try {
      const reply = (await ADMIT.run(this.#options.redis, keys, [
        String(now),
        String(limit),
        this.#pendingMember(context.transport, context.client),
        String(now + this.#pendingTtlMs),
        String(this.#keyTtlMs),
        String(user?.limit ?? 0),
      ])) as [number, number, string];
      this.#options.health.success();
      if (reply[0] === 1) return { result: 'admitted', count: reply[1] };
      return { result: 'full', count: reply[1], scope: reply[2] === 'user' ? 'user' : 'tenant' };
    } catch (err) {
      this.#options.health.failure('command', err);
      return { result: 'unknown' };
    }
  }

  /** Live (unexpired) allocations of `tenant` on every node; null when Redis does not answer. */
  async count(tenant: string): Promise<number | null> {
    return this.#countKey(this.keyOf(tenant));
  }

  /** Live (unexpired) allocations of one minted credential on every node; null when Redis does not answer. */
  async countUser(username: string): Promise<number | null> {
    return this.#countKey(this.userKeyOf(username));
  }

  async #countKey(key: string): Promise<number | null> {
    try {
      return await this.#options.redis.zcount(key, `(${this.#clock()}`, '+inf');
    } catch (err) {
      this.#options.health.failure('command', err);
      return null;
    }
  }

  /** The TurnEvents that keep this node's members in step with its allocations. */
  events(): Required<Pick<TurnEvents, 'allocationCreated' | 'allocationRefreshed' | 'allocationDeleted'>> {
    return {
      allocationCreated: (a) => {
        const multi = this.#options.redis.multi();
        const pending = this.#pendingMember(a.tuple.transport, a.tuple.client);
        for (const key of this.#keysOf(a)) multi.zrem(key, pending);
        this.#run(this.#announce(multi, a).exec());
      },
      allocationRefreshed: (a) => {
        // A plain ZADD: it also puts back a member lost while Redis was down.
        this.#run(this.#announce(this.#options.redis.multi(), a).exec());
      },
      allocationDeleted: (a) => {
        const member = this.#member(a);
        const keys = this.#keysOf(a);
        const multi = this.#options.redis.multi();
        for (const key of keys) multi.zrem(key, member);
        multi.hdel(this.nodeKey, member);
        this.#run(multi.exec(), () => {
          for (const key of keys) {
            const set = this.#unremoved.get(key) ?? new Set<string>();
            set.add(member);
            this.#unremoved.set(key, set);
          }
        });
      },
    };
  }

  /**
   * After an outage, or after other nodes took this node for dead (it was stalled past the node
   * timeout): puts back this node's live allocations, its member index, and removes the members
   * of allocations that ended meanwhile.
   */
  async resync(): Promise<void> {
    if (this.#closed) return;
    const multi = this.#options.redis.multi();
    for (const [key, members] of this.#unremoved) multi.zrem(key, ...members);
    const live = this.#live?.() ?? [];
    multi.del(this.nodeKey);
    for (const a of live) this.#announce(multi, a);
    const unremoved = new Map(this.#unremoved);
    this.#unremoved.clear();
    try {
      const reply = await multi.exec();
      const failed = reply?.find((r) => r[0] instanceof Error);
      if (failed !== undefined) throw failed[0];
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
    const pipeline = this.#options.redis.pipeline();
    for (const a of live) for (const key of this.#keysOf(a)) pipeline.zrem(key, this.#member(a));
    pipeline.del(this.nodeKey);
    await pipeline.exec().catch(() => undefined);
  }

  /** Queues the writes that count `a` in its ledgers and in this node's member index. */
  #announce(multi: ChainableCommander, a: AllocationView): ChainableCommander {
    const member = this.#member(a);
    const keys = this.#keysOf(a);
    for (const key of keys) multi.zadd(key, a.expiresAt, member).pexpire(key, this.#keyTtlMs);
    // The index outlives every member it names (a member's score is at most TURN_MAX_LIFETIME ahead).
    multi.hset(this.nodeKey, member, JSON.stringify(keys)).pexpire(this.nodeKey, this.#keyTtlMs);
    // A node killed before its first heartbeat must be reapable too: its members enter the node set
    // (NX: a heartbeat's own score, by Redis' clock, is never overwritten).
    return multi.zadd(nodesKeyOf(this.#options.prefix), 'NX', this.#clock(), this.nodeId);
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
