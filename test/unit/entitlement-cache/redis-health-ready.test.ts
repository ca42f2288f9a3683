// A Redis outage ends when the command connection is ready, not when the first command answers.
// While reconnecting, ioredis already sends PUBLISH (a command Redis allows during loading) before
// its ready check has answered; the tenant bus then reports a success. Counting that as recovery
// woke the fleet ledger's resync, whose MULTI failed at once ("Stream isn't writeable"), so the
// outage was logged twice. A scripted RESP server holds the ready check (INFO) back to open that
// window deterministically.
import net, { type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { openRedis, type RedisConnections } from '../../../src/entitlement/cache/redis-connection.js';
import { RedisHealth } from '../../../src/entitlement/cache/redis-health.js';
import { RedisTenantEvents } from '../../../src/entitlement/cache/redis-tenant-events.js';
import type { Logger } from '../../../src/log/logger.js';

/** Parses the RESP arrays in `buffer`; answers the complete commands and the unparsed rest. */
function commandsIn(buffer: string): { commands: string[][]; rest: string } {
  const commands: string[][] = [];
  let at = 0;
  for (;;) {
    const lineEnd = buffer.indexOf('\r\n', at);
    if (buffer[at] !== '*' || lineEnd < 0) break;
    const count = Number(buffer.slice(at + 1, lineEnd));
    let pos = lineEnd + 2;
    const args: string[] = [];
    for (let i = 0; i < count; i++) {
      const end = buffer.indexOf('\r\n', pos);
      if (end < 0) return { commands, rest: buffer.slice(at) };
      const length = Number(buffer.slice(pos + 1, end));
      if (buffer.length < end + 2 + length + 2) return { commands, rest: buffer.slice(at) };
      args.push(buffer.slice(end + 2, end + 2 + length));
      pos = end + 2 + length + 2;
    }
    commands.push(args);
    at = pos;
  }
  return { commands, rest: buffer.slice(at) };
}

/** A Redis stand-in that answers INFO (ioredis' ready check) only once `release()` is called. */
async function heldReadyCheckServer() {
  const held: Array<() => void> = [];
  let released = false;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    let pending = '';
    socket.on('data', (chunk) => {
      const { commands, rest } = commandsIn(pending + chunk.toString('latin1'));
      pending = rest;
      for (const [name] of commands) {
        const command = name?.toLowerCase();
        if (command === 'info') {
          const info = '# Persistence\r\nloading:0\r\n';
          const answer = () => socket.write(`$${info.length}\r\n${info}\r\n`);
          if (released) answer();
          else held.push(answer);
        } else if (command === 'publish') socket.write(':0\r\n');
        else socket.write('+OK\r\n');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `redis://127.0.0.1:${(server.address() as AddressInfo).port}`,
    release() {
      released = true;
      for (const answer of held.splice(0)) answer();
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function recordingLogger(lines: string[]): Logger {
  const logger: Logger = {
    error: (message: string) => lines.push(message),
    warn: (message: string) => lines.push(message),
    info: (message: string) => lines.push(message),
    debug() {},
    child: () => logger,
  };
  return logger;
}

describe('RedisHealth recovery waits for the command connection to be ready', () => {
  let cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const step of cleanup.reverse()) await step();
    cleanup = [];
  });

  it('a PUBLISH answered during the handshake does not end the outage; ready does, once', async () => {
    const server = await heldReadyCheckServer();
    cleanup.push(() => server.close());
    const lines: string[] = [];
    const health = new RedisHealth(recordingLogger(lines), { redisError() {} });
    const changes: boolean[] = [];
    health.onChange((down) => changes.push(down));
    health.failure('connection', new Error('connect ECONNREFUSED'));

    const redis: RedisConnections = openRedis(server.url, health);
    cleanup.push(() => redis.close());
    const events = new RedisTenantEvents({
      commands: redis.commands,
      subscriber: redis.subscriber,
      health,
      logger: recordingLogger(lines),
      prefix: 'unit-health-ready:',
    });
    cleanup.push(() => events.close());
    await new Promise((resolve) => redis.commands.once('connect', resolve));

    // The handshake is under way: PUBLISH goes out and is answered, other commands cannot be sent.
    await events.publish({ tenant: 't1', kind: 'orders' });
    expect(redis.commands.status).toBe('connect');
    await expect(redis.commands.get('k')).rejects.toThrow("Stream isn't writeable");
    expect(health.down).toBe(true);
    expect(changes).toEqual([true]);

    server.release();
    await new Promise((resolve) => redis.commands.once('ready', resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(health.down).toBe(false);
    expect(changes).toEqual([true, false]);
    expect(lines.filter((l) => l.startsWith('redis reachable again'))).toHaveLength(1);
  });

  it('without a connection test (no openRedis), a success still ends the outage', () => {
    const health = new RedisHealth(recordingLogger([]), { redisError() {} });
    health.failure('command', new Error('x'));
    health.success();
    expect(health.down).toBe(false);
  });
});
