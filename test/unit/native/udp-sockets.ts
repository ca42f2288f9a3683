// Loopback sockets and small waits shared by the native plane's unit tests.
import dgram from 'node:dgram';
import { once } from 'node:events';
import { afterEach } from 'vitest';

export const LOOPBACK = '127.0.0.1';

/** A UDP socket bound to an ephemeral port on 127.0.0.1 (or ::1). */
export async function bound(type: 'udp4' | 'udp6' = 'udp4'): Promise<dgram.Socket> {
  const socket = dgram.createSocket(type);
  socket.bind(0, type === 'udp4' ? LOOPBACK : '::1');
  await once(socket, 'listening');
  return socket;
}

/** Collects datagrams until `count` arrived or `ms` passed. */
export function collect(
  socket: dgram.Socket,
  count: number,
  ms = 1000,
): Promise<{ data: Buffer; port: number }[]> {
  return new Promise((resolve) => {
    const got: { data: Buffer; port: number }[] = [];
    const done = (): void => {
      clearTimeout(timer);
      socket.off('message', onMessage);
      resolve(got);
    };
    const onMessage = (data: Buffer, rinfo: dgram.RemoteInfo): void => {
      got.push({ data, port: rinfo.port });
      if (got.length >= count) done();
    };
    const timer = setTimeout(done, ms);
    socket.on('message', onMessage);
  });
}

/** Polls `condition` every 5 ms until it holds or `ms` passed (the caller asserts afterwards). */
export async function waitFor(condition: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!condition() && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
}

/**
 * Waits until `read()` has every value of `expected` (or `ms` passed; the caller asserts). A data
 * thread counts a datagram after its send returns, so the datagram may arrive before its count.
 */
export async function settled(
  read: () => object,
  expected: Record<string, number>,
  ms = 3000,
): Promise<void> {
  const matches = () => {
    const now = read() as Record<string, unknown>;
    return Object.entries(expected).every(([key, value]) => now[key] === value);
  };
  await waitFor(matches, ms);
}

/** A ChannelData message (RFC 8656 section 12.4) without padding. */
export function channelData(channel: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt16BE(channel, 0);
  header.writeUInt16BE(payload.length, 2);
  return Buffer.concat([header, payload]);
}

/**
 * A `track(x)` that closes what it was given after each test of the calling file, last first.
 * Call once at the top of a test file.
 */
export function closeAfterEach(): <T extends { close(): void }>(x: T) => T {
  const open: { close(): void }[] = [];
  afterEach(() => {
    for (const x of open.splice(0).reverse()) x.close();
  });
  return (x) => {
    open.push(x);
    return x;
  };
}

/** The data thread a client lands on: native/src/relay_plane.cc ClientHash, for IPv4 and ::1. */
export function expectedWorker(ip: string, port: number, threads: number): number {
  let a: number;
  if (ip.includes(':')) {
    a = ip === '::1' ? 1 : Number.NaN; // the XOR of ::1's four words
  } else {
    a = ip.split('.').reduce((acc, part) => ((acc << 8) | Number(part)) >>> 0, 0);
  }
  return (Math.imul((a ^ port) >>> 0, 0x9e3779b1) >>> 16) % threads;
}
