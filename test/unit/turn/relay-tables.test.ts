// Relay tables and traffic for a data plane outside the core (issue 9): the core pushes the whole
// table of a relay (client 5-tuple, live permission IPs, live channels) when an allocation is
// created, on every CreatePermission and ChannelBind (before the answer), and from tick() once a
// permission (300 s, RFC 8656 section 9) or a channel (600 s, section 12) expired; traffic the
// sink relayed itself is collected on tick and before a relay closes. Fake clock throughout.
import { describe, expect, it } from 'vitest';
import { Attr, type TransportAddress } from '../../../src/stun/index.js';
import type { ActionSink, RelayTable, RelayTableCause, TrafficCounters } from '../../../src/turn/index.js';
import { type Core, lastAllocation, loopbackPeer, makeCore } from './harness.js';

const PEER = loopbackPeer(7000);
const OTHER: TransportAddress = { family: 'IPv4', address: '127.0.0.2', port: 7100 };
const PEER6: TransportAddress = { family: 'IPv6', address: '::1', port: 7001 };

interface Push {
  table: RelayTable;
  cause: RelayTableCause;
  /** Datagrams the core had sent to clients when the push came. */
  sentBefore: number;
}

/** A core whose sink keeps relay tables, recording every push. */
function tableCore(relayFamilies: TransportAddress['family'][] = ['IPv4']): { core: Core; pushes: Push[] } {
  const core = makeCore({ relayFamilies });
  const pushes: Push[] = [];
  const sink: ActionSink = core.sink;
  sink.relayTableChanged = (table, cause) => {
    pushes.push({ table, cause, sentBefore: core.sink.toClient.length });
  };
  return { core, pushes };
}

/** The permission IPs and channel numbers of a push, for short assertions. */
function shape(push: Push | undefined) {
  if (push === undefined) return undefined;
  return {
    relayId: push.table.relayId,
    cause: push.cause,
    permissions: [...push.table.permissions].sort(),
    channels: push.table.channels.map((c) => [c.number, c.peer.address, c.peer.port]),
  };
}

function allocated(core: Core) {
  const client = core.client();
  expect(client.allocate().code).toBe(200);
  return { client, allocation: lastAllocation(core) };
}

describe('relay tables pushed to the sink', () => {
  it('gives the relay its client 5-tuple when the allocation is created, before the success response', () => {
    const { core, pushes } = tableCore();
    const client = core.client();
    client.challenge();
    const sentBeforeAllocate = core.sink.toClient.length;
    expect(client.allocate().code).toBe(200);
    const allocation = lastAllocation(core);
    expect(pushes).toHaveLength(1);
    expect(pushes[0]!.table.tuple).toBe(client.tuple);
    expect(shape(pushes[0])).toEqual({
      relayId: allocation.relayId,
      cause: 'client',
      permissions: [],
      channels: [],
    });
    // The success response left after the push: a client's first packet finds its table.
    expect(pushes[0]!.sentBefore).toBe(sentBeforeAllocate);
  });

  it('pushes the whole permission set on CreatePermission, refreshes included, before the answer', () => {
    const { core, pushes } = tableCore();
    const { client, allocation } = allocated(core);
    const sent = core.sink.toClient.length;
    expect(client.createPermission(PEER).code).toBe(200);
    expect(shape(pushes.at(-1))).toEqual({
      relayId: allocation.relayId,
      cause: 'permission',
      permissions: ['127.0.0.1'],
      channels: [],
    });
    expect(pushes.at(-1)!.sentBefore).toBe(sent);
    core.advance(10_000);
    expect(client.createPermission(OTHER, PEER).code).toBe(200);
    expect(shape(pushes.at(-1))?.permissions).toEqual(['127.0.0.1', '127.0.0.2']);
    // A refresh of the same IP is pushed too (the sink may skip an unchanged set).
    const count = pushes.length;
    expect(client.createPermission(PEER).code).toBe(200);
    expect(pushes).toHaveLength(count + 1);
    expect(shape(pushes.at(-1))).toMatchObject({
      cause: 'permission',
      permissions: ['127.0.0.1', '127.0.0.2'],
    });
  });

  it('pushes nothing for a refused CreatePermission', () => {
    const { core, pushes } = tableCore();
    const { client } = allocated(core);
    const count = pushes.length;
    const denied = client.createPermission({ family: 'IPv4', address: '224.0.0.1', port: 1 });
    expect(denied.code).toBe(403);
    expect(pushes).toHaveLength(count);
  });

  it('pushes the channel and its permission on ChannelBind, before the answer', () => {
    const { core, pushes } = tableCore();
    const { client, allocation } = allocated(core);
    const sent = core.sink.toClient.length;
    expect(client.channelBind(0x4001, PEER).code).toBe(200);
    expect(shape(pushes.at(-1))).toEqual({
      relayId: allocation.relayId,
      cause: 'channel',
      permissions: ['127.0.0.1'],
      channels: [[0x4001, '127.0.0.1', 7000]],
    });
    expect(pushes.at(-1)!.sentBefore).toBe(sent);
  });

  it('pushes from tick() when a permission expires (300 s) and when a channel and the permission it keeps expire (600 s)', () => {
    const { core, pushes } = tableCore();
    const { client, allocation } = allocated(core);
    expect(client.refresh(3600).code).toBe(200);
    expect(client.channelBind(0x4001, PEER).code).toBe(200);
    core.advance(100_000);
    expect(client.createPermission(OTHER).code).toBe(200);
    const count = pushes.length;

    core.advance(299_000); // t = 399 s: nothing has expired yet (PEER's permission is kept by its channel)
    core.server.tick();
    expect(pushes).toHaveLength(count);

    core.advance(1_000); // t = 400 s: OTHER's permission (from 100 s) expired
    core.server.tick();
    expect(shape(pushes.at(-1))).toEqual({
      relayId: allocation.relayId,
      cause: 'expired',
      permissions: ['127.0.0.1'],
      channels: [[0x4001, '127.0.0.1', 7000]],
    });
    core.server.tick();
    expect(pushes).toHaveLength(count + 1);

    core.advance(199_000); // t = 599 s
    core.server.tick();
    expect(pushes).toHaveLength(count + 1);

    core.advance(1_000); // t = 600 s: the channel and its peer's permission expired together
    core.server.tick();
    expect(shape(pushes.at(-1))).toMatchObject({ cause: 'expired', permissions: [], channels: [] });
    expect(pushes).toHaveLength(count + 2);
    const settled = pushes.length;
    core.advance(60_000);
    core.server.tick();
    expect(pushes).toHaveLength(settled);
  });

  it('does not push an expiry that a refresh moved, and pushes it when it comes', () => {
    const { core, pushes } = tableCore();
    const { client } = allocated(core);
    expect(client.createPermission(PEER).code).toBe(200);
    core.advance(200_000);
    expect(client.createPermission(PEER).code).toBe(200); // now lasts until 500 s
    const count = pushes.length;
    core.advance(100_000); // 300 s
    core.server.tick();
    expect(pushes).toHaveLength(count);
    core.advance(199_000); // 499 s
    core.server.tick();
    expect(pushes).toHaveLength(count);
    core.advance(1_000); // 500 s
    core.server.tick();
    expect(shape(pushes.at(-1))).toMatchObject({ cause: 'expired', permissions: [] });
  });

  it('splits a dual allocation by family: each relay gets the peers of its own family', () => {
    const { core, pushes } = tableCore(['IPv4', 'IPv6']);
    const client = core.client();
    const response = client.allocate((b) => b.addAddressFamily(Attr.ADDITIONAL_ADDRESS_FAMILY, 'IPv6'));
    expect(response.code).toBe(200);
    const allocation = lastAllocation(core);
    const relay6 = allocation.additional!.relayId;
    expect(core.sink.binds.map((b) => b.dual)).toEqual([true, true]);
    expect(pushes.map((p) => [p.table.relayId, p.cause])).toEqual([
      [allocation.relayId, 'client'],
      [relay6, 'client'],
    ]);
    expect(client.createPermission(PEER, PEER6).code).toBe(200);
    expect(client.channelBind(0x4002, PEER6).code).toBe(200);
    const last = pushes.slice(-2).map(shape);
    expect(last).toEqual([
      { relayId: allocation.relayId, cause: 'channel', permissions: ['127.0.0.1'], channels: [] },
      { relayId: relay6, cause: 'channel', permissions: ['::1'], channels: [[0x4002, '::1', 7001]] },
    ]);
  });

  it('tells the sink the Allocate 5-tuple and whether the relay is one of a dual pair', () => {
    const { core } = tableCore();
    const { client } = allocated(core);
    expect(core.sink.binds.at(-1)).toMatchObject({ tuple: client.tuple, dual: false });
  });

  it('leaves a sink without relayTableChanged alone (the JS data path)', () => {
    const core = makeCore();
    const { client, allocation } = allocated(core);
    expect(client.channelBind(0x4001, PEER).code).toBe(200);
    core.advance(700_000);
    core.server.tick();
    expect((allocation as { tableDeadline?: number }).tableDeadline).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('traffic relayed outside the core', () => {
  /** A sink that relayed `perTick` more packets on every relay each time it is asked. */
  function trafficCore(relayFamilies: TransportAddress['family'][] = ['IPv4']) {
    const core = makeCore({ relayFamilies });
    const collected: number[] = [];
    const order: string[] = [];
    const sink: ActionSink = core.sink;
    sink.collectTraffic = (relayId: number, into: TrafficCounters) => {
      collected.push(relayId);
      order.push(`collect ${relayId}`);
      into.toClientPackets += 2;
      into.toClientBytes += 200;
      into.toPeerPackets += 1;
      into.toPeerBytes += 50;
    };
    const close = core.sink.closeRelay.bind(core.sink);
    core.sink.closeRelay = (relayId: number) => {
      order.push(`close ${relayId}`);
      close(relayId);
    };
    return { core, collected, order };
  }

  it('adds the sink counts on tick and reports them as trafficRelayed', () => {
    const { core, collected } = trafficCore();
    const { allocation } = allocated(core);
    core.server.tick();
    expect(collected).toEqual([allocation.relayId]);
    expect(core.events.traffic).toHaveLength(1);
    expect(core.events.traffic[0]!.delta).toMatchObject({
      toClientPackets: 2,
      toClientBytes: 200,
      toPeerPackets: 1,
      toPeerBytes: 50,
    });
    core.server.tick();
    expect(allocation.traffic).toMatchObject({ toClientPackets: 4, toClientBytes: 400 });
    expect(core.events.traffic.at(-1)!.delta).toMatchObject({ toClientPackets: 2, toPeerBytes: 50 });
  });

  it('collects before the relay closes when the allocation ends, and reports the last counts', () => {
    const { core, order } = trafficCore();
    const { client, allocation } = allocated(core);
    expect(client.refresh(0).code).toBe(200);
    expect(order).toEqual([`collect ${allocation.relayId}`, `close ${allocation.relayId}`]);
    expect(core.events.deleted).toHaveLength(1);
    expect(core.events.traffic.at(-1)!.delta).toMatchObject({ toClientPackets: 2, toPeerPackets: 1 });
  });

  it('collects the dropped family of a dual allocation before closing its relay', () => {
    const { core, order } = trafficCore(['IPv4', 'IPv6']);
    const client = core.client();
    expect(client.allocate((b) => b.addAddressFamily(Attr.ADDITIONAL_ADDRESS_FAMILY, 'IPv6')).code).toBe(200);
    const allocation = lastAllocation(core);
    const relay6 = allocation.additional!.relayId;
    const response = client.signed(0x004, (b) => {
      b.addUint32(Attr.LIFETIME, 0).addAddressFamily(Attr.REQUESTED_ADDRESS_FAMILY, 'IPv6');
    });
    expect(response.code).toBe(200);
    expect(order).toEqual([`collect ${relay6}`, `close ${relay6}`]);
    expect(allocation.traffic.toClientPackets).toBe(2);
  });
});
