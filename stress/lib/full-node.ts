// A whole icegate node (src/main.ts startIcegate) for the soak and outage suites: 127.0.0.1,
// ephemeral TURN and HTTP ports, PostgreSQL and Redis (directly or through TCP proxies the suite
// can cut), loopback peers allowed (the peers are echo sockets on 127.0.0.1), and allocation
// lifetimes the suite chooses (below the 30 s the configuration accepts, to see many expire).
import dgram from 'node:dgram';
import { loadConfig } from '../../src/config.js';
import type { Logger } from '../../src/log/logger.js';
import { type Icegate, startIcegate } from '../../src/main.js';
import type { PortBlock } from '../../test/helpers/ports.js';
import { CapturingLogger } from '../../test/integration/http-harness.js';

/** Info lines the suites look for; every other info and debug line is dropped. */
const KEPT_INFO = /reachable again/;

/**
 * The node's logger: warnings and errors (and the few info lines the suites check) go to a
 * CapturingLogger; the per-allocation info lines are dropped, since keeping thousands of them
 * in memory would show up as growth in the soak's own figures.
 */
class QuietLogger implements Logger {
  constructor(
    readonly capture: CapturingLogger,
    readonly fields: Record<string, unknown> = {},
  ) {}
  error(message: string, fields?: Record<string, unknown>): void {
    this.capture.error(message, { ...this.fields, ...fields });
  }
  warn(message: string, fields?: Record<string, unknown>): void {
    this.capture.warn(message, { ...this.fields, ...fields });
  }
  info(message: string, fields?: Record<string, unknown>): void {
    if (KEPT_INFO.test(message)) this.capture.info(message, { ...this.fields, ...fields });
  }
  debug(): void {}
  child(fields: Record<string, unknown>): Logger {
    return new QuietLogger(this.capture, { ...this.fields, ...fields });
  }
}

/** Options of startFullNode. */
export interface FullNodeOptions {
  ports: PortBlock;
  /** Environment: DATABASE_URL, DATABASE_SCHEMA, REDIS_URL, secrets (see gate-harness sharedServices). */
  env: Record<string, string>;
  redisPrefix: string;
  /** Allocation lifetime, seconds (default and maximum). */
  lifetime: number;
  cachePolicy?: { maxTtlMs: number; negativeTtlMs: number; staleIfErrorMs: number };
}

/** A running node and its captured log. */
export interface FullNode {
  node: Icegate;
  logger: CapturingLogger;
  url: string;
  close(): Promise<void>;
}

/** Starts a node. */
export async function startFullNode(options: FullNodeOptions): Promise<FullNode> {
  const config = {
    ...loadConfig({
      TURN_LISTEN_IP: '127.0.0.1',
      HTTP_LISTEN_IP: '127.0.0.1',
      METRICS_LISTEN_IP: '127.0.0.1',
      TURN_MIN_PORT: String(options.ports.relayMin),
      TURN_MAX_PORT: String(options.ports.relayMax),
      TURN_ALLOW_LOOPBACK_PEERS: 'true',
      LOG_LEVEL: 'error',
      ...options.env,
    }),
    TURN_PORT: 0,
    HTTP_PORT: 0,
    METRICS_PORT: 0,
    TURN_DEFAULT_LIFETIME: options.lifetime,
    TURN_MAX_LIFETIME: options.lifetime,
  };
  const logger = new CapturingLogger();
  const node = await startIcegate(config, {
    logger: new QuietLogger(logger),
    redisPrefix: options.redisPrefix,
    // Every request comes from 127.0.0.1; the limits have their own tests.
    rateLimits: {
      perIp: { limit: 1_000_000, windowMs: 60_000 },
      perTenant: { limit: 1_000_000, windowMs: 60_000 },
    },
    ...(options.cachePolicy === undefined ? {} : { cachePolicy: options.cachePolicy }),
  });
  return { node, logger, url: `http://127.0.0.1:${node.httpPort()}`, close: () => node.close() };
}

/** A UDP echo peer on 127.0.0.1 (what turnutils_peer does), in-process. */
export async function echoPeer(): Promise<{ port: number; close(): void }> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  socket.on('message', (data, from) => socket.send(data, from.port, from.address));
  return { port: socket.address().port, close: () => socket.close() };
}

/** Relay ports of `ports` that cannot be bound on 127.0.0.1 right now (a leak shows up here). */
export async function busyRelayPorts(ports: PortBlock): Promise<number[]> {
  const busy: number[] = [];
  for (let port = ports.relayMin; port <= ports.relayMax; port++) {
    const socket = dgram.createSocket('udp4');
    const free = await new Promise<boolean>((resolve) => {
      socket.once('error', () => resolve(false));
      socket.bind({ port, address: '127.0.0.1', exclusive: true }, () => resolve(true));
    });
    await new Promise<void>((resolve) => {
      try {
        socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
    if (!free) busy.push(port);
  }
  return busy;
}
