// The fleet-wide tenant bus over Redis pub/sub. Each node publishes on the command connection
// and listens on its own subscriber connection; a node hears its own messages back and skips
// them by origin, since it already told its local listeners synchronously.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from '../../log/logger.js';
import { TenantListeners } from './local-tenant-events.js';
import type { RedisHealth } from './redis-health.js';
import {
  parseTenantChange,
  TENANT_CHANGED_CHANNEL,
  type TenantChange,
  type TenantChangeListener,
  type TenantEvents,
} from './tenant-events.js';

/** What the Redis bus needs. */
export interface RedisTenantEventsOptions {
  commands: Redis;
  subscriber: Redis;
  health: RedisHealth;
  logger: Logger;
  /** Prefix of every Redis key and channel of this deployment, e.g. 'icegate:'. */
  prefix: string;
}

/** Tenant changes shared by every node subscribed to `<prefix>tenant-changed`. */
export class RedisTenantEvents implements TenantEvents {
  readonly #listeners: TenantListeners;
  readonly #origin = randomUUID();
  readonly #channel: string;
  readonly #options: RedisTenantEventsOptions;
  #connected = false;
  #closed = false;
  readonly #onMessage = (channel: string, text: string) => this.#receive(channel, text);
  readonly #onReady = () => this.#ready();
  readonly #onClose = () => {
    this.#connected = false;
  };

  constructor(options: RedisTenantEventsOptions) {
    this.#options = options;
    this.#listeners = new TenantListeners(options.logger);
    this.#channel = `${options.prefix}${TENANT_CHANGED_CHANNEL}`;
    const { subscriber } = options;
    subscriber.on('message', this.#onMessage);
    subscriber.on('ready', this.#onReady);
    subscriber.on('close', this.#onClose);
    if (subscriber.status === 'ready') this.#ready();
  }

  /** The channel name, for tests and logs. */
  get channel(): string {
    return this.#channel;
  }

  get connected(): boolean {
    return this.#connected;
  }

  async publish(change: TenantChange): Promise<void> {
    this.#listeners.emit(change);
    const message = JSON.stringify({ origin: this.#origin, ...change });
    try {
      await this.#options.commands.publish(this.#channel, message);
      this.#options.health.success();
    } catch (err) {
      this.#options.health.failure('publish', err);
    }
  }

  subscribe(listener: TenantChangeListener): () => void {
    return this.#listeners.add(listener);
  }

  onResync(listener: () => void): () => void {
    return this.#listeners.addResync(listener);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#connected = false;
    const { subscriber } = this.#options;
    subscriber.off('message', this.#onMessage);
    subscriber.off('ready', this.#onReady);
    subscriber.off('close', this.#onClose);
    if (subscriber.status === 'ready') await subscriber.unsubscribe(this.#channel).catch(() => undefined);
  }

  // Subscribes on every (re)connection and counts as connected only once Redis confirmed it;
  // changes published while this node was cut off were missed, so listeners resync then.
  #ready(): void {
    if (this.#closed) return;
    this.#options.subscriber.subscribe(this.#channel).then(
      () => {
        if (this.#closed || this.#connected) return;
        this.#connected = true;
        this.#listeners.emitResync();
      },
      (err: unknown) => this.#options.health.failure('subscribe', err),
    );
  }

  #receive(channel: string, text: string): void {
    if (channel !== this.#channel) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = null;
    }
    const origin = (parsed as { origin?: unknown } | null)?.origin;
    if (origin === this.#origin) return;
    const change = parseTenantChange(parsed);
    if (change === null) {
      this.#options.logger.warn('ignored a malformed tenant change message', { channel });
      return;
    }
    this.#listeners.emit(change);
  }
}
