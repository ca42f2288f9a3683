// Fleet-wide admin allocation routes (issue 18): `GET` and `DELETE
// /v1/admin/tenants/{id}/allocations` act on every node, not only the one that answers. A request
// goes out on `<prefix>admin` (Redis pub/sub); every node answers from its own relay table on
// `<prefix>admin-reply:<asker>`. The asker knows whom to wait for from the heartbeat set
// (node-liveness.ts); a node that does not answer within the timeout is reported by id, never
// silently left out, and an answer without Redis says it is this node's alone.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { RelayAllocationSummary } from '../http/index.js';
import type { Logger } from '../log/logger.js';

/** This node's part: the TURN core seen through the admin summary. */
export interface LocalAllocations {
  list(tenant: string): RelayAllocationSummary[];
  close(tenant: string): number;
}

/** Options of the fleet admin. */
export interface FleetAdminOptions {
  /** The command connection (publishes); a subscriber connection is duplicated from it. */
  redis: Redis;
  prefix: string;
  nodeId: string;
  /** Node ids with a heartbeat (NodeLiveness.liveNodes). */
  liveNodes(): Promise<string[]>;
  local: LocalAllocations;
  logger: Logger;
  /** How long to wait for the other nodes' answers (default 2 s). */
  timeoutMs?: number;
}

/** Which nodes answered; `complete` is false when one did not, or Redis could not be asked. */
export interface FleetCoverage {
  answered: string[];
  unreachable: string[];
  complete: boolean;
}

type AdminOp = 'list' | 'close';

interface AdminRequest {
  id: string;
  from: string;
  op: AdminOp;
  tenant: string;
}

interface AdminReply {
  id: string;
  node: string;
  allocations: RelayAllocationSummary[];
  closed: number;
}

interface Waiting {
  expected: Set<string>;
  replies: AdminReply[];
  done: () => void;
}

function parse<T>(text: string): T | null {
  try {
    return JSON.parse(text) as T;
  } catch {
    return null;
  }
}

/** Asks every node of the fleet for a tenant's allocations, or to close them. */
export class FleetAdmin {
  readonly #options: FleetAdminOptions;
  readonly #sub: Redis;
  readonly #log: Logger;
  readonly #waiting = new Map<string, Waiting>();
  readonly #ready: Promise<void>;

  constructor(options: FleetAdminOptions) {
    this.#options = options;
    this.#log = options.logger.child({ component: 'fleet-admin' });
    this.#sub = options.redis.duplicate({
      enableOfflineQueue: true,
      autoResubscribe: true,
      maxRetriesPerRequest: null,
      commandTimeout: undefined,
      connectionName: 'icegate-admin',
    });
    // Failures show in the answers (unreachable nodes); the command connection reports health.
    this.#sub.on('error', () => undefined);
    this.#sub.on('message', (channel: string, text: string) => this.#onMessage(channel, text));
    this.#ready = this.#sub.subscribe(this.#requests, this.#replies).then(
      () => undefined,
      (err: unknown) => {
        this.#log.warn('fleet admin channel not subscribed', {
          error: err instanceof Error ? err.message : String(err),
        });
      },
    );
  }

  get #requests(): string {
    return `${this.#options.prefix}admin`;
  }

  get #replies(): string {
    return `${this.#options.prefix}admin-reply:${this.#options.nodeId}`;
  }

  /** The tenant's allocations on every node, each with its node id. */
  async listAllocations(tenant: string): Promise<FleetCoverage & { allocations: RelayAllocationSummary[] }> {
    const { replies, coverage } = await this.#ask('list', tenant);
    return { allocations: replies.flatMap((r) => r.allocations), ...coverage };
  }

  /** Closes the tenant's allocations on every node; answers how many were closed. */
  async closeAllocations(tenant: string): Promise<FleetCoverage & { closed: number }> {
    const { replies, coverage } = await this.#ask('close', tenant);
    return { closed: replies.reduce((sum, r) => sum + r.closed, 0), ...coverage };
  }

  async #ask(op: AdminOp, tenant: string): Promise<{ replies: AdminReply[]; coverage: FleetCoverage }> {
    const own = this.#answer({ id: '', from: this.#options.nodeId, op, tenant });
    let others: string[];
    try {
      await this.#ready;
      others = (await this.#options.liveNodes()).filter((id) => id !== this.#options.nodeId);
    } catch (err) {
      this.#log.warn('fleet admin: Redis unavailable, answering for this node only', {
        error: err instanceof Error ? err.message : String(err),
      });
      return { replies: [own], coverage: { answered: [own.node], unreachable: [], complete: false } };
    }
    if (others.length === 0) {
      return { replies: [own], coverage: { answered: [own.node], unreachable: [], complete: true } };
    }
    const request: AdminRequest = { id: randomUUID(), from: this.#options.nodeId, op, tenant };
    const waiting: Waiting = { expected: new Set(others), replies: [], done: () => undefined };
    const finished = new Promise<void>((resolve) => {
      waiting.done = resolve;
    });
    this.#waiting.set(request.id, waiting);
    const timer = setTimeout(() => waiting.done(), this.#options.timeoutMs ?? 2_000);
    try {
      await this.#options.redis.publish(this.#requests, JSON.stringify(request));
      await finished;
    } catch (err) {
      this.#log.warn('fleet admin request not published', {
        error: err instanceof Error ? err.message : String(err),
      });
    } finally {
      clearTimeout(timer);
      this.#waiting.delete(request.id);
    }
    const answered = [own.node, ...waiting.replies.map((r) => r.node)];
    const unreachable = [...waiting.expected];
    if (unreachable.length > 0) this.#log.warn('fleet admin: nodes did not answer', { op, unreachable });
    return {
      replies: [own, ...waiting.replies],
      coverage: { answered, unreachable, complete: unreachable.length === 0 },
    };
  }

  #answer(request: AdminRequest): AdminReply {
    const { local, nodeId } = this.#options;
    if (request.op === 'close') {
      return { id: request.id, node: nodeId, allocations: [], closed: local.close(request.tenant) };
    }
    return { id: request.id, node: nodeId, allocations: local.list(request.tenant), closed: 0 };
  }

  #onMessage(channel: string, text: string): void {
    if (channel === this.#requests) {
      const request = parse<AdminRequest>(text);
      if (request === null || request.from === this.#options.nodeId) return;
      if (request.op !== 'list' && request.op !== 'close') return;
      const reply = this.#answer(request);
      if (request.op === 'close' && reply.closed > 0) {
        this.#log.info('allocations closed by a fleet admin request', {
          tenant: request.tenant,
          closed: reply.closed,
          from: request.from,
        });
      }
      const to = `${this.#options.prefix}admin-reply:${request.from}`;
      this.#options.redis.publish(to, JSON.stringify(reply)).catch(() => undefined);
      return;
    }
    const reply = parse<AdminReply>(text);
    if (reply === null) return;
    const waiting = this.#waiting.get(reply.id);
    if (waiting === undefined || !waiting.expected.delete(reply.node)) return;
    waiting.replies.push(reply);
    if (waiting.expected.size === 0) waiting.done();
  }

  /** Stops answering. */
  stop(): void {
    for (const waiting of this.#waiting.values()) waiting.done();
    this.#sub.disconnect();
  }
}
