// Node heartbeats in Redis (issue 18): a node killed with its allocations (kill -9, a lost pod)
// must not hold its tenants' fleet quota until its ledger members expire (up to
// TURN_MAX_LIFETIME). Every node writes its heartbeat into `<prefix>nodes`, scored by Redis' own
// clock (node clocks may disagree), and then runs the reaper: one Lua script, so atomic, that takes
// every node silent for longer than the timeout and drops the ledger members its index
// (`<prefix>node:<id>`, fleet-quota.ts) names, then the node itself. Any live node may reap; two
// reaping at once find nothing left the second time.
//
// A node that was only stalled (a long GC pause, SIGSTOP, Redis cut off from it alone) and comes
// back learns it from its next heartbeat: its entry is gone, so it re-announces its live
// allocations (`onReclaimed`, FleetQuota.resync). Meanwhile its allocations were not counted, so
// the fleet may admit up to that many allocations too many for that while; they count again from
// the resync on.
import type { Redis } from 'ioredis';
import type { Logger } from '../log/logger.js';
import type { FleetQuotaHealth } from './fleet-quota.js';

/** Default heartbeat period: a dead node is dropped at most timeout + this after its last beat. */
export const DEFAULT_HEARTBEAT_MS = 2_000;
/** Default silence after which a node counts as dead (well above GC pauses and Redis blips). */
export const DEFAULT_NODE_TIMEOUT_MS = 10_000;

/** Options of the heartbeat. */
export interface NodeLivenessOptions {
  redis: Redis;
  prefix: string;
  nodeId: string;
  health: FleetQuotaHealth;
  logger: Logger;
  heartbeatMs?: number;
  timeoutMs?: number;
  /** Called when this node's heartbeat found its entry gone (first start, or taken for dead). */
  onReclaimed(): Promise<void> | void;
}

// Redis 7 replicates scripts by effects, so reading TIME before writing is allowed.
const NOW_MS = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

// KEYS[1] the node set; ARGV[1] the node id. Answers 1 when the node was not in the set.
const HEARTBEAT_SCRIPT = `${NOW_MS}
local before = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[1], now, ARGV[1])
if before then return 0 end
return 1
`;

// KEYS[1] the node set; ARGV: key prefix, timeout ms. Answers the ids of the nodes dropped.
const REAP_SCRIPT = `${NOW_MS}
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
for _, id in ipairs(dead) do
  local index = ARGV[1] .. 'node:' .. id
  local entries = redis.call('HGETALL', index)
  for i = 1, #entries, 2 do
    for _, key in ipairs(cjson.decode(entries[i + 1])) do
      redis.call('ZREM', key, entries[i])
    end
  end
  redis.call('DEL', index)
  redis.call('ZREM', KEYS[1], id)
end
return dead
`;

/** The key of the fleet's node set. */
export function nodesKeyOf(prefix: string): string {
  return `${prefix}nodes`;
}

/** Keeps this node alive in Redis and drops the ledger members of dead nodes. */
export class NodeLiveness {
  readonly #options: NodeLivenessOptions;
  readonly #log: Logger;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #closed = false;

  constructor(options: NodeLivenessOptions) {
    this.#options = options;
    this.#log = options.logger.child({ component: 'node-liveness' });
  }

  /** Starts beating (once Redis is ready: a first beat that fails would count as an outage). */
  start(): void {
    if (this.#timer !== null || this.#closed) return;
    this.#timer = setInterval(() => void this.beat(), this.#options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS);
    this.#timer.unref();
    void this.beat();
  }

  get #nodesKey(): string {
    return nodesKeyOf(this.#options.prefix);
  }

  /** One heartbeat, then one reaping round (a beat still running is not started twice). */
  beat(): Promise<void> {
    this.#running ??= this.#beat().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  async #beat(): Promise<void> {
    if (this.#closed) return;
    const { redis, nodeId, prefix } = this.#options;
    try {
      const absent = (await redis.eval(HEARTBEAT_SCRIPT, 1, this.#nodesKey, nodeId)) as number;
      if (absent === 1) await this.#options.onReclaimed();
      const timeout = this.#options.timeoutMs ?? DEFAULT_NODE_TIMEOUT_MS;
      const dead = (await redis.eval(REAP_SCRIPT, 1, this.#nodesKey, prefix, String(timeout))) as string[];
      for (const id of dead) {
        this.#log.warn('node silent past the timeout: its fleet quota members dropped', {
          node: id,
          timeoutMs: timeout,
        });
      }
    } catch (err) {
      this.#options.health.failure('command', err);
    }
  }

  /** The ids of the nodes with a heartbeat in Redis (dead ones not yet reaped included). */
  async liveNodes(): Promise<string[]> {
    return this.#options.redis.zrange(this.#nodesKey, 0, -1);
  }

  /** Stops beating and leaves the node set (its index is removed by FleetQuota.close). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    await this.#running;
    await this.#options.redis.zrem(this.#nodesKey, this.#options.nodeId).catch(() => undefined);
  }
}
