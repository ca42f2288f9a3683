// The policy seams: async authorize (issue 4 plugs entitlement in here), quota with pending
// allocations, tenant-wide closing, traffic accounting and the admin listing.
import { describe, expect, it } from 'vitest';
import { Method, Protocol } from '../../../src/stun/index.js';
import type { AuthDecision } from '../../../src/turn/index.js';
import { type CoreClient, lastAllocation, loopbackPeer, makeCore } from './harness.js';

/** An authorize hook whose answers the test releases by hand. */
function deferredAuthorize() {
  const calls: {
    tenant: string;
    method: string;
    resolve: (d: AuthDecision) => void;
    reject: (e: Error) => void;
  }[] = [];
  const authorize = (tenant: string, _username: string, context: { method: string }) =>
    new Promise<AuthDecision>((resolve, reject) => {
      calls.push({ tenant, method: context.method, resolve, reject });
    });
  return { calls, authorize };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

/** Sends a signed Allocate without waiting for an answer; returns its transaction id. */
function startAllocate(client: CoreClient): { tid: Buffer; bytes: Buffer } {
  if (client.nonce === null) client.challenge();
  const request = client.build(Method.Allocate, (b) => b.addRequestedTransport(Protocol.UDP));
  client.feed(request.bytes);
  return request;
}

describe('async authorize', () => {
  it('holds an Allocate while authorize runs, drops its retransmissions, then answers once', async () => {
    const deferred = deferredAuthorize();
    const core = makeCore({ policy: { authorize: deferred.authorize } });
    const client = core.client();
    const { tid, bytes } = startAllocate(client);
    client.feed(bytes);
    client.feed(bytes);
    expect(deferred.calls).toHaveLength(1);
    expect(client.responseTo(tid)).toBeUndefined();
    expect(core.events.dropped).toEqual(['retransmission-in-progress', 'retransmission-in-progress']);
    // Another Allocate on the same 5-tuple meanwhile is a mismatch.
    const other = client.build(Method.Allocate, (b) => b.addRequestedTransport(Protocol.UDP));
    client.feed(other.bytes);
    expect(client.responseTo(other.tid)?.code).toBe(437);

    deferred.calls[0]!.resolve({ allowed: true });
    await flush();
    const response = client.responseTo(tid);
    expect(response?.code).toBe(200);
    expect(core.sink.binds).toHaveLength(1);
    client.feed(bytes);
    expect(core.sink.toClient.at(-1)?.data.equals(response!.raw)).toBe(true);
    expect(core.sink.binds).toHaveLength(1);
  });

  it('counts pending allocations against the quota', async () => {
    const deferred = deferredAuthorize();
    const core = makeCore({
      policy: { authorize: deferred.authorize },
      limits: { maxAllocationsPerTenant: 1 },
    });
    core.sink.autoBind = false;
    const first = core.client();
    const second = core.client();
    const a = startAllocate(first);
    const b = startAllocate(second);
    deferred.calls[0]!.resolve({ allowed: true });
    await flush();
    // The first holds its quota slot while its relay is being bound.
    expect(core.server.tenantLoad('acme')).toBe(1);
    deferred.calls[1]!.resolve({ allowed: true });
    await flush();
    expect(second.responseTo(b.tid)?.code).toBe(486);
    core.server.relayBound(core.sink.binds[0]!.ref, core.sink.relayFor(core.sink.binds[0]!));
    expect(first.responseTo(a.tid)?.code).toBe(200);
    expect(core.server.tenantLoad('acme')).toBe(1);
  });

  it('answers 500 and keeps everything when authorize fails', async () => {
    const deferred = deferredAuthorize();
    const core = makeCore({ policy: { authorize: deferred.authorize } });
    const client = core.client();
    const { tid } = startAllocate(client);
    deferred.calls[0]!.reject(new Error('store down'));
    await flush();
    expect(client.responseTo(tid)?.code).toBe(500);
    expect(core.server.tenantLoad('acme')).toBe(0);
  });

  it('asks authorize on every Refresh; a refusal answers 403 and ends the allocation', async () => {
    let entitled = true;
    const methods: string[] = [];
    const core = makeCore({
      policy: {
        authorize: async (_tenant, _username, context) => {
          methods.push(context.method);
          return entitled ? { allowed: true } : { allowed: false, reason: 'support_expired' };
        },
      },
    });
    const client = core.client();
    const { tid } = startAllocate(client);
    await flush();
    expect(client.responseTo(tid)?.code).toBe(200);
    const allocation = lastAllocation(core);

    const refresh = client.build(Method.Refresh, () => {});
    client.feed(refresh.bytes);
    await flush();
    expect(client.responseTo(refresh.tid)?.code).toBe(200);

    entitled = false;
    const refused = client.build(Method.Refresh, () => {});
    client.feed(refused.bytes);
    await flush();
    const response = client.responseTo(refused.tid)!;
    expect(response.code).toBe(403);
    expect(client.verifies(response)).toBe(true);
    expect(core.server.allocationCount).toBe(0);
    expect(core.sink.closed).toEqual([allocation.relayId]);
    expect(core.events.deleted[0]?.reason).toBe('policy');
    expect(methods).toEqual(['allocate', 'refresh', 'refresh']);
  });

  it('does not answer an Allocate whose client vanished while authorize ran', async () => {
    const deferred = deferredAuthorize();
    const core = makeCore({ policy: { authorize: deferred.authorize } });
    const client = core.client();
    const { tid } = startAllocate(client);
    core.server.clientGone(client.tuple);
    deferred.calls[0]!.resolve({ allowed: true });
    await flush();
    expect(client.responseTo(tid)).toBeUndefined();
    expect(core.sink.binds).toHaveLength(0);
    expect(core.server.tenantLoad('acme')).toBe(0);
  });

  it('closes a relay bound for an Allocate whose client vanished meanwhile', () => {
    const core = makeCore();
    core.sink.autoBind = false;
    const client = core.client();
    const { tid } = startAllocate(client);
    core.server.clientGone(client.tuple);
    const bind = core.sink.binds[0]!;
    const relay = core.sink.relayFor(bind);
    core.server.relayBound(bind.ref, relay);
    expect(client.responseTo(tid)).toBeUndefined();
    expect(core.sink.closed).toEqual([relay.relayId]);
    expect(core.server.allocationCount).toBe(0);
  });

  it('keeps a long refusal reason from a hook within the reason-phrase limit', () => {
    const core = makeCore({ policy: { authorize: () => ({ allowed: false, reason: 'é'.repeat(500) }) } });
    const response = core.client().allocate();
    expect(response.code).toBe(403);
    expect([...response.reason]).toHaveLength(120);
  });
});

describe('tenant operations and accounting', () => {
  it('closes all allocations of a tenant and refuses its Allocates in flight with 403', async () => {
    const deferred = deferredAuthorize();
    const core = makeCore({ policy: { authorize: deferred.authorize } });
    const clients = [core.client('acme'), core.client('acme'), core.client('globex')];
    const requests = clients.map(startAllocate);
    for (const call of deferred.calls) call.resolve({ allowed: true });
    await flush();
    expect(core.server.listAllocations('acme')).toHaveLength(2);
    expect(core.server.listAllocations()).toHaveLength(3);

    const late = core.client('acme');
    const pending = startAllocate(late);
    expect(core.server.closeAllocationsOfTenant('acme')).toBe(2);
    deferred.calls.at(-1)!.resolve({ allowed: true });
    await flush();
    expect(late.responseTo(pending.tid)?.code).toBe(403);
    expect(core.server.listAllocations().map((a) => a.tenant)).toEqual(['globex']);
    expect(core.events.deleted.map((d) => d.reason)).toEqual(['policy', 'policy']);
    expect(clients[2]!.responseTo(requests[2]!.tid)?.code).toBe(200);
  });

  it('counts relayed traffic on the allocation and reports deltas on tick and at the end', () => {
    const core = makeCore();
    const client = core.client();
    client.allocate();
    const allocation = lastAllocation(core);
    client.channelBind(0x4000, loopbackPeer(7000));
    client.channelData(0x4000, Buffer.alloc(100));
    client.channelData(0x4000, Buffer.alloc(50));
    core.server.handlePeerPacket(allocation.relayId, loopbackPeer(7000), Buffer.alloc(30));
    core.server.tick();
    expect(core.events.traffic).toHaveLength(1);
    expect(core.events.traffic[0]!.delta).toMatchObject({
      toPeerPackets: 2,
      toPeerBytes: 150,
      toClientPackets: 1,
      toClientBytes: 30,
    });
    core.server.tick();
    expect(core.events.traffic).toHaveLength(1);
    client.channelData(0x4000, Buffer.alloc(10));
    client.refresh(0);
    expect(core.events.traffic).toHaveLength(2);
    expect(core.events.traffic[1]!.delta).toMatchObject({ toPeerPackets: 1, toPeerBytes: 10 });
    expect(allocation.traffic).toMatchObject({ toPeerPackets: 3, toPeerBytes: 160 });
  });

  it('ends everything on close()', () => {
    const core = makeCore();
    core.client().allocate();
    core.client().allocate();
    core.server.close();
    expect(core.server.allocationCount).toBe(0);
    expect(core.events.deleted.map((d) => d.reason)).toEqual(['shutdown', 'shutdown']);
    expect(core.client().allocate().code).toBe(508);
  });
});
