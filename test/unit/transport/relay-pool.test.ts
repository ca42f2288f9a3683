// The relay port pool over real loopback sockets: range, parity, pairs, EADDRINUSE, exhaustion.
import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import type { TransportAddress } from '../../../src/stun/index.js';
import { RelayPool } from '../../../src/transport/index.js';
import type { BoundRelay, RelayFailure, RelayRequest } from '../../../src/turn/index.js';
import { PORTS } from '../../helpers/ports.js';

const BASE = PORTS.transport.relayMin;

/** Records what the pool reports. */
class Owner {
  readonly bound = new Map<number, BoundRelay>();
  readonly failed = new Map<number, RelayFailure>();
  readonly packets: { relayId: number; from: TransportAddress; data: Buffer }[] = [];
  #waiters: (() => void)[] = [];

  handlePeerPacket(relayId: number, from: TransportAddress, data: Buffer): void {
    this.packets.push({ relayId, from, data });
    this.#wake();
  }
  relayBound(ref: number, relay: BoundRelay): void {
    this.bound.set(ref, relay);
    this.#wake();
  }
  relayFailed(ref: number, reason: RelayFailure): void {
    this.failed.set(ref, reason);
    this.#wake();
  }
  async until(done: () => boolean): Promise<void> {
    const deadline = Date.now() + 3000;
    while (!done()) {
      if (Date.now() > deadline) throw new Error('timed out');
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }
  #wake(): void {
    for (const wake of this.#waiters.splice(0)) wake();
  }
}

let pools: RelayPool[] = [];
let sockets: dgram.Socket[] = [];

afterEach(() => {
  for (const pool of pools) pool.closeAll();
  for (const socket of sockets) socket.close();
  pools = [];
  sockets = [];
});

function pool(minPort: number, maxPort: number, externalIp = '127.0.0.1'): { pool: RelayPool; owner: Owner } {
  const owner = new Owner();
  const created = new RelayPool({ relays: [{ bindIp: '127.0.0.1', externalIp }], minPort, maxPort });
  created.attach(owner);
  pools.push(created);
  return { pool: created, owner };
}

function request(ref: number, extra: Partial<RelayRequest> = {}): RelayRequest {
  return { ref, family: 'IPv4', evenPort: false, reserveNext: false, ...extra };
}

async function occupy(port: number): Promise<void> {
  const socket = dgram.createSocket('udp4');
  sockets.push(socket);
  await new Promise<void>((resolve) => socket.bind(port, '127.0.0.1', () => resolve()));
}

describe('RelayPool', () => {
  it('binds relays inside the range and advertises the external IP', async () => {
    const { pool: relays, owner } = pool(BASE, BASE + 9, '203.0.113.9');
    for (let ref = 1; ref <= 5; ref++) relays.bind(request(ref));
    await owner.until(() => owner.bound.size === 5);
    const ports = [...owner.bound.values()].map((r) => r.address.port);
    expect(new Set(ports).size).toBe(5);
    for (const port of ports) expect(port).toBeGreaterThanOrEqual(BASE);
    for (const port of ports) expect(port).toBeLessThanOrEqual(BASE + 9);
    expect([...owner.bound.values()].every((r) => r.address.address === '203.0.113.9')).toBe(true);
    expect(relays.size).toBe(5);
  });

  it('binds an even port, and an even/odd pair for reserveNext', async () => {
    const { pool: relays, owner } = pool(BASE + 10, BASE + 19);
    relays.bind(request(1, { evenPort: true }));
    relays.bind(request(2, { evenPort: true, reserveNext: true }));
    await owner.until(() => owner.bound.size === 2);
    expect(owner.bound.get(1)!.address.port % 2).toBe(0);
    const pair = owner.bound.get(2)!;
    expect(pair.address.port % 2).toBe(0);
    expect(pair.reserved?.address.port).toBe(pair.address.port + 1);
    expect(relays.size).toBe(3);
  });

  it('skips ports taken by someone else (EADDRINUSE) and reports exhaustion', async () => {
    const { pool: relays, owner } = pool(BASE + 20, BASE + 21);
    await occupy(BASE + 20);
    relays.bind(request(1));
    await owner.until(() => owner.bound.size === 1);
    expect(owner.bound.get(1)!.address.port).toBe(BASE + 21);
    relays.bind(request(2));
    await owner.until(() => owner.failed.size === 1);
    expect(owner.failed.get(2)).toBe('exhausted');
  });

  it('frees the port when a relay closes', async () => {
    const { pool: relays, owner } = pool(BASE + 22, BASE + 22);
    relays.bind(request(1));
    await owner.until(() => owner.bound.size === 1);
    relays.close(owner.bound.get(1)!.relayId);
    expect(relays.size).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 20));
    relays.bind(request(2));
    await owner.until(() => owner.bound.size === 2);
    expect(owner.bound.get(2)!.address.port).toBe(BASE + 22);
  });

  it('fails a family it has no address for, and delivers peer datagrams with their source', async () => {
    const { pool: relays, owner } = pool(BASE + 23, BASE + 23);
    relays.bind(request(1, { family: 'IPv6' }));
    await owner.until(() => owner.failed.size === 1);
    expect(owner.failed.get(1)).toBe('error');

    relays.bind(request(2));
    await owner.until(() => owner.bound.size === 1);
    const relay = owner.bound.get(2)!;
    const peer = dgram.createSocket('udp4');
    sockets.push(peer);
    await new Promise<void>((resolve) => peer.bind(0, '127.0.0.1', () => resolve()));
    peer.send(Buffer.from([1]), relay.address.port, '127.0.0.1');
    await owner.until(() => owner.packets.length === 1);
    expect(owner.packets[0]).toMatchObject({ relayId: relay.relayId, data: Buffer.from([1]) });
    expect(owner.packets[0]!.from.port).toBe(peer.address().port);

    const received = new Promise<Buffer>((resolve) => peer.once('message', (data) => resolve(data)));
    relays.send(
      relay.relayId,
      { family: 'IPv4', address: '127.0.0.1', port: peer.address().port },
      Buffer.from('xhey'),
      1,
      3,
    );
    expect(await received).toEqual(Buffer.from('hey'));
  });

  it('drops a datagram for peer port 0, which no socket can send to, instead of throwing', async () => {
    // A Send indication or ChannelBind may name port 0 (permissions are by IP alone): dgram's
    // send throws a RangeError for it (Node 20 and 24), which surfaced per packet as a handler error.
    const { pool: relays, owner } = pool(BASE + 24, BASE + 24);
    relays.bind(request(1));
    await owner.until(() => owner.bound.size === 1);
    const relay = owner.bound.get(1)!;
    const peer = { family: 'IPv4', address: '127.0.0.1', port: 0 } as const;
    expect(() => relays.send(relay.relayId, peer, Buffer.from('x'), 0, 1)).not.toThrow();
  });

  it('rejects a bad port range', () => {
    expect(() => new RelayPool({ relays: [{ bindIp: '127.0.0.1' }], minPort: 10, maxPort: 5 })).toThrow(
      /port range/,
    );
    expect(() => new RelayPool({ relays: [{ bindIp: 'localhost' }], minPort: 10, maxPort: 20 })).toThrow(
      /not an IP/,
    );
  });
});
