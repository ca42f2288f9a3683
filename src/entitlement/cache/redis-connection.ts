// ioredis connections tuned so a dead Redis costs milliseconds: commands are not queued while
// disconnected (they fail at once and the caller falls back to in-process state), a hung
// server times out quickly, and the client keeps reconnecting in the background so Redis
// coming back needs no restart.
import { createRequire } from 'node:module';
import type { Redis } from 'ioredis';
import type { RedisHealth } from './redis-health.js';

// ioredis is required when a Redis connection is opened, not at module load: an embedded node
// (no REDIS_URL) never pays for its module graph (about 40 files, a few MiB of heap at rest).
const requireFromHere = createRequire(import.meta.url);
const loadRedis = (): typeof Redis => (requireFromHere('ioredis') as typeof import('ioredis')).Redis;

/** Options of the Redis connections. */
export interface RedisConnectionOptions {
  /** A command without a reply after this many ms fails (default 500). */
  commandTimeoutMs?: number;
  /** A connection attempt gives up after this many ms (default 1000). */
  connectTimeoutMs?: number;
  /** Longest pause between reconnection attempts (default 1000). */
  maxReconnectDelayMs?: number;
}

/** The command connection and the one reserved for SUBSCRIBE (a subscribed connection can do nothing else). */
export interface RedisConnections {
  commands: Redis;
  subscriber: Redis;
  /** Closes both connections. */
  close(): Promise<void>;
}

function baseOptions(options: RedisConnectionOptions) {
  const maxDelay = options.maxReconnectDelayMs ?? 1000;
  return {
    connectTimeout: options.connectTimeoutMs ?? 1000,
    // Reconnect forever with a short capped back-off: recovery without restart.
    retryStrategy: (times: number) => Math.min(50 * times, maxDelay),
    lazyConnect: false,
  };
}

/** Opens the command and subscriber connections to `url`; failures are reported to `health`. */
export function openRedis(
  url: string,
  health: RedisHealth,
  options: RedisConnectionOptions = {},
): RedisConnections {
  const Redis = loadRedis();
  const commands = new Redis(url, {
    ...baseOptions(options),
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: options.commandTimeoutMs ?? 500,
    // Commands issued in the same event-loop turn leave in one write (ioredis auto-pipelining):
    // the allocation ledger's scripts and the rate limiter's (one call per turn, for all the
    // requests the turn handled: redis-rate-limiter.ts) no longer cost a system call each (issue 19).
    enableAutoPipelining: true,
    connectionName: 'icegate',
  });
  // The subscriber's user (RedisTenantEvents) subscribes again itself after each reconnection,
  // so it knows when the subscription is really back.
  const subscriber = new Redis(url, {
    ...baseOptions(options),
    enableOfflineQueue: true,
    autoResubscribe: false,
    maxRetriesPerRequest: null,
    connectionName: 'icegate-sub',
  });
  // Recovery is the command connection being ready (its 'ready' event), not any one answer.
  health.readyWhen(() => commands.status === 'ready');
  commands.on('error', (err: Error) => health.failure('connection', err));
  commands.on('ready', () => health.success());
  subscriber.on('error', (err: Error) => health.failure('subscribe', err));
  return {
    commands,
    subscriber,
    async close() {
      await Promise.all([quit(commands), quit(subscriber)]);
    },
  };
}

async function quit(client: Redis): Promise<void> {
  if (client.status === 'end') return;
  try {
    if (client.status === 'ready') await client.quit();
    else client.disconnect();
  } catch {
    client.disconnect();
  }
}

/** Resolves once `client` is ready; rejects after `timeoutMs` (for start-up checks and tests). */
export function waitForRedisReady(client: Redis, timeoutMs: number): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('ready', onReady);
      reject(new Error(`redis not ready after ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    client.once('ready', onReady);
  });
}
