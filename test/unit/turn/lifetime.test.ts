// Refresh (RFC 8656 section 8.2) and expiry driven by tick() and lazy checks, with a fake clock.
import { describe, expect, it } from 'vitest';
import { Attr, getAttribute, Method, readUint32 } from '../../../src/stun/index.js';
import { lastAllocation, makeCore, type Response } from './harness.js';

function lifetime(response: Response): number | null {
  const attr = getAttribute(response.message, Attr.LIFETIME);
  return attr ? readUint32(attr.value) : null;
}

describe('allocation lifetime', () => {
  it('counts the allocations ever created, live and ended, beside the live count', () => {
    const core = makeCore();
    expect(core.server.allocationsCreated).toBe(0);
    const first = core.client();
    expect(first.allocate().code).toBe(200);
    expect(core.client().allocate().code).toBe(200);
    expect(first.refresh(0).code).toBe(200);
    expect(core.server.allocationCount).toBe(1);
    expect(core.server.allocationsCreated).toBe(2);
  });

  it('expires after 600 s without refresh: tick closes the relay and reports the end', () => {
    const core = makeCore();
    expect(core.client().allocate().code).toBe(200);
    const allocation = lastAllocation(core);
    core.advance(599_999);
    core.server.tick();
    expect(core.server.allocationCount).toBe(1);
    core.advance(1);
    core.server.tick();
    expect(core.server.allocationCount).toBe(0);
    expect(core.sink.closed).toEqual([allocation.relayId]);
    expect(core.events.deleted).toEqual([{ allocation, reason: 'expired', durationMs: 600_000 }]);
  });

  it('extends the allocation on Refresh and reports it', () => {
    const core = makeCore();
    const client = core.client();
    client.allocate();
    core.advance(500_000);
    const response = client.refresh(900);
    expect(response.code).toBe(200);
    expect(lifetime(response)).toBe(900);
    expect(client.verifies(response)).toBe(true);
    expect(core.events.refreshed.map((r) => r.lifetime)).toEqual([900]);
    core.advance(899_000);
    core.server.tick();
    expect(core.server.allocationCount).toBe(1);
    core.advance(1_000);
    core.server.tick();
    expect(core.server.allocationCount).toBe(0);
  });

  it('applies the default and the maximum to Refresh too', () => {
    const core = makeCore();
    const client = core.client();
    client.allocate();
    expect(lifetime(client.refresh())).toBe(600);
    expect(lifetime(client.refresh(10))).toBe(600);
    expect(lifetime(client.refresh(100_000))).toBe(3600);
  });

  it('deletes the allocation on Refresh with LIFETIME 0, and a retransmission gets the same bytes', () => {
    const core = makeCore();
    const client = core.client();
    client.allocate();
    const allocation = lastAllocation(core);
    const response = client.refresh(0);
    expect(response.code).toBe(200);
    expect(lifetime(response)).toBe(0);
    expect(core.server.allocationCount).toBe(0);
    expect(core.sink.closed).toEqual([allocation.relayId]);
    expect(core.events.deleted[0]?.reason).toBe('refresh-0');
    client.feed(client.lastRequest!);
    expect(core.sink.toClient.at(-1)?.data.equals(response.raw)).toBe(true);
    // A new Refresh (new transaction) finds no allocation.
    expect(client.refresh(0).code).toBe(437);
  });

  it('answers 437 to Refresh, CreatePermission and ChannelBind without an allocation', () => {
    const core = makeCore();
    const client = core.client();
    expect(client.refresh().code).toBe(437);
    expect(client.createPermission({ family: 'IPv4', address: '127.0.0.1', port: 1 }).code).toBe(437);
    expect(client.channelBind(0x4000, { family: 'IPv4', address: '127.0.0.1', port: 1 }).code).toBe(437);
  });

  it('treats an allocation past its expiry as gone even before the tick', () => {
    const core = makeCore();
    const client = core.client();
    client.allocate();
    core.advance(600_000);
    const response = client.refresh();
    expect(response.code).toBe(437);
    expect(core.events.deleted[0]?.reason).toBe('expired');
    // And the 5-tuple is free again.
    expect(client.allocate().code).toBe(200);
  });

  it('answers 443 to a Refresh asking for another address family', () => {
    const core = makeCore();
    const client = core.client();
    client.allocate();
    const response = client.signed(Method.Refresh, (b) =>
      b.addAddressFamily(Attr.REQUESTED_ADDRESS_FAMILY, 'IPv6'),
    );
    expect(response.code).toBe(443);
  });

  it('ends the allocation when the client connection is gone', () => {
    const core = makeCore();
    const client = core.client();
    client.allocate();
    core.server.clientGone(client.tuple);
    expect(core.server.allocationCount).toBe(0);
    expect(core.events.deleted[0]?.reason).toBe('transport-closed');
  });

  it('forgets cached responses after 40 s', () => {
    const core = makeCore();
    const client = core.client();
    const first = client.allocate();
    const request = client.lastRequest!;
    core.advance(40_000);
    core.server.tick();
    // The allocation itself still answers its own Allocate retransmission (section 7.2).
    client.feed(request);
    expect(core.sink.toClient.at(-1)?.data.equals(first.raw)).toBe(true);
    // A forgotten CreatePermission is processed again (idempotent), not replayed.
    const permission = client.createPermission({ family: 'IPv4', address: '127.0.0.1', port: 9 });
    const answered = core.events.answered.length;
    core.advance(40_000);
    core.server.tick();
    client.feed(client.lastRequest!);
    expect(core.events.answered.length).toBe(answered + 1);
    expect(permission.code).toBe(200);
  });
});
