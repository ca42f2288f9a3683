// The reflection guard (issue 7): answers to UDP sources that have not proved their address are
// budgeted per source, dropped beyond it, and unauthenticated errors carry no SOFTWARE.
import { describe, expect, it } from 'vitest';
import { Attr, getAttribute, MessageBuilder, Method, Protocol, StunClass } from '../../../src/stun/index.js';
import { DEFAULT_TURN_LIMITS, FiveTuple } from '../../../src/turn/index.js';
import { UnauthenticatedBudget } from '../../../src/turn/unauthenticated-budget.js';
import { makeCore, SERVER } from './harness.js';

function unsignedAllocate(): Buffer {
  return new MessageBuilder(StunClass.Request, Method.Allocate, Buffer.alloc(12, 3))
    .addRequestedTransport(Protocol.UDP)
    .build();
}

describe('UnauthenticatedBudget', () => {
  it('grants the burst, then one answer per 1/rate seconds, never more than the burst', () => {
    const budget = new UnauthenticatedBudget({ burst: 4, ratePerSecond: 2, slots: 64, seed: 1 });
    const granted = (now: number, n: number) =>
      Array.from({ length: n }, () => budget.take('198.51.100.9', now)).filter(Boolean).length;
    expect(granted(1_000, 10)).toBe(4);
    expect(granted(1_400, 5)).toBe(0); // 0.8 of a token
    expect(granted(1_500, 5)).toBe(1);
    expect(granted(61_500, 10)).toBe(4); // a minute idle refills the bucket, capped at the burst
  });

  it('earns nothing when the clock steps back', () => {
    const budget = new UnauthenticatedBudget({ burst: 2, ratePerSecond: 1, slots: 8, seed: 1 });
    expect(budget.take('192.0.2.1', 10_000)).toBe(true);
    expect(budget.take('192.0.2.1', 10_000)).toBe(true);
    expect(budget.take('192.0.2.1', 5_000)).toBe(false);
    expect(budget.take('192.0.2.1', 10_500)).toBe(false);
    expect(budget.take('192.0.2.1', 11_000)).toBe(true);
  });

  it('treats ::ffff:a.b.c.d as a.b.c.d and an IPv6 /64 as one source', () => {
    const budget = new UnauthenticatedBudget({ burst: 2, ratePerSecond: 1, slots: 1024, seed: 9 });
    expect(budget.take('203.0.113.7', 0)).toBe(true);
    expect(budget.take('::ffff:203.0.113.7', 0)).toBe(true);
    expect(budget.take('203.0.113.7', 0)).toBe(false);
    expect(budget.take('2001:db8:1:2::1', 0)).toBe(true);
    expect(budget.take('2001:db8:1:2:ffff::99', 0)).toBe(true);
    expect(budget.take('2001:db8:1:2:abcd::', 0)).toBe(false);
  });

  it('keeps most sources apart and has a fixed, power-of-two table', () => {
    const budget = new UnauthenticatedBudget({ burst: 1, ratePerSecond: 1, slots: 5000, seed: 42 });
    expect(budget.slots).toBe(8192);
    let first = 0;
    for (let i = 0; i < 1000; i++) if (budget.take(`10.0.${i >> 8}.${i & 255}`, 0)) first++;
    // 1000 sources in 8192 buckets: a few collide (they share a bucket), the rest get their answer.
    expect(first).toBeGreaterThan(900);
    expect(new UnauthenticatedBudget({ burst: 1, ratePerSecond: 1, slots: 1e12 }).slots).toBe(1 << 20);
  });

  it('is off with an infinite rate', () => {
    const budget = new UnauthenticatedBudget({ burst: 1, ratePerSecond: Number.POSITIVE_INFINITY, slots: 8 });
    for (let i = 0; i < 100; i++) expect(budget.take('192.0.2.1', 0)).toBe(true);
  });
});

describe('the core with the reflection guard', () => {
  it('answers a UDP source its burst of 401s, then drops silently, then recovers at the rate', () => {
    const core = makeCore({ limits: { unauthenticatedBurst: 5, unauthenticatedRate: 2 } });
    const tuple = core.tuple(5000);
    for (let i = 0; i < 20; i++) core.server.handleClientPacket(tuple, unsignedAllocate());
    expect(core.sink.toClient).toHaveLength(5);
    expect(core.events.dropped.filter((r) => r === 'rate-limited')).toHaveLength(15);
    // Another port of the same IP is the same source.
    core.server.handleClientPacket(core.tuple(5001), unsignedAllocate());
    expect(core.sink.toClient).toHaveLength(5);
    core.advance(1_000);
    for (let i = 0; i < 20; i++) core.server.handleClientPacket(tuple, unsignedAllocate());
    expect(core.sink.toClient).toHaveLength(7);
  });

  it('budgets Binding answers and 400s to unproven sources too', () => {
    const core = makeCore({ limits: { unauthenticatedBurst: 2, unauthenticatedRate: 1 } });
    const tuple = core.tuple(5000);
    const binding = new MessageBuilder(StunClass.Request, Method.Binding, Buffer.alloc(12, 1)).build();
    const unknownMethod = new MessageBuilder(StunClass.Request, 0x00f, Buffer.alloc(12, 2)).build();
    for (let i = 0; i < 5; i++) {
      core.server.handleClientPacket(tuple, binding);
      core.server.handleClientPacket(tuple, unknownMethod);
    }
    expect(core.sink.toClient).toHaveLength(2);
  });

  it('does not budget TCP or TLS clients (a stream source address is proven by its handshake)', () => {
    const core = makeCore({ limits: { unauthenticatedBurst: 1, unauthenticatedRate: 1 } });
    const tuple = core.tuple(5000, 'tcp');
    for (let i = 0; i < 10; i++) core.server.handleClientPacket(tuple, unsignedAllocate());
    expect(core.sink.toClient).toHaveLength(10);
  });

  it('keeps serving a client that proved its address while its source is over budget', () => {
    const core = makeCore({ limits: { unauthenticatedBurst: 2, unauthenticatedRate: 1 } });
    const client = core.client('acme', { port: 6000 });
    expect(client.allocate().code).toBe(200); // one 401, then authenticated
    // A spoofer with the client's IP spends the rest of the budget.
    for (let i = 0; i < 50; i++) core.server.handleClientPacket(core.tuple(6001), unsignedAllocate());
    expect(client.refresh(600).code).toBe(200);
    expect(client.createPermission({ family: 'IPv4', address: '127.0.0.1', port: 1 }).code).toBe(200);
  });

  it('neither caches nor resends 438s: a retransmitted stale-nonce request is judged again', () => {
    const core = makeCore({ limits: { unauthenticatedBurst: 3, unauthenticatedRate: 1 } });
    const client = core.client('acme', { port: 7000 });
    client.challenge();
    const stale = client.build(Method.Allocate, (b) => b.addRequestedTransport(Protocol.UDP), {
      nonce: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    });
    for (let i = 0; i < 10; i++) client.feed(stale.bytes);
    const answered = core.sink.toClient.length;
    expect(answered).toBe(3); // the 401 and two 438s
    expect(client.responseTo(stale.tid)?.code).toBe(438);
  });

  it('sends 401s without SOFTWARE but keeps it on authenticated answers', () => {
    const core = makeCore();
    const client = core.client('acme', { port: 8000 });
    const challenge = client.challenge();
    expect(getAttribute(challenge.message, Attr.SOFTWARE)).toBeUndefined();
    const allocated = client.allocate();
    expect(getAttribute(allocated.message, Attr.SOFTWARE)).toBeDefined();
    const mismatch = client.allocate();
    expect(mismatch.code).toBe(437);
    expect(getAttribute(mismatch.message, Attr.SOFTWARE)).toBeDefined();
  });

  it('holds bytes out per byte in under 1 against a 10-second spoofed flood at 1,000 requests a second', () => {
    const core = makeCore();
    const victim = new FiveTuple('udp', { family: 'IPv4', address: '198.51.100.200', port: 53 }, SERVER);
    const request = unsignedAllocate();
    let bytesIn = 0;
    for (let ms = 0; ms < 10_000; ms++) {
      core.server.handleClientPacket(victim, request);
      bytesIn += request.length;
      core.advance(1);
    }
    const bytesOut = core.sink.toClient.reduce((sum, s) => sum + s.data.length, 0);
    const expected = DEFAULT_TURN_LIMITS.unauthenticatedBurst + 10 * DEFAULT_TURN_LIMITS.unauthenticatedRate;
    expect(core.sink.toClient.length).toBeLessThanOrEqual(expected + 1);
    expect(bytesOut / bytesIn).toBeLessThan(0.1);
  });
});
