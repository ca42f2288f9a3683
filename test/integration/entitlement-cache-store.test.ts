// PostgreSQL unreachable (cut off by a TCP proxy in front of the real server): cached answers
// are served until they are stale, then the gate fails closed with 503 entitlement_unavailable;
// when PostgreSQL is reachable again everything answers without a restart.
import { afterEach, describe, expect, it } from 'vitest';
import {
  ACTIVE_ORDERS,
  assertMatchesOpenApi,
  counterValue,
  FakeClock,
  pgTestStore,
  startNode,
  TcpProxy,
  TEST_DATABASE_URL,
  TEST_NOW,
  type TestStore,
  tenantToken,
  tenantWithKey,
} from './http-harness.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

describe('entitlement store unreachable', () => {
  it('serves cached answers until stale, then 503 entitlement_unavailable, and recovers', async () => {
    const target = new URL(TEST_DATABASE_URL);
    const proxy = new TcpProxy(target.hostname, Number(target.port || 5432));
    await proxy.start();
    cleanups.push(() => proxy.close());
    const viaProxyUrl = new URL(TEST_DATABASE_URL);
    viaProxyUrl.host = `127.0.0.1:${proxy.port}`;
    // A fresh schema, reached only through the proxy (dropped afterwards over a direct connection).
    const proxied: TestStore = await pgTestStore(viaProxyUrl.toString());
    cleanups.push(() => proxied.dispose());

    const clock = new FakeClock(TEST_NOW);
    const node = await startNode({ store: proxied.store, clock: clock.now });
    cleanups.push(() => node.close());
    const key = await tenantWithKey(proxied.store, node.licenses, 'acme', ACTIVE_ORDERS);
    const ice = async () => {
      const res = await fetch(`${node.app.url}/v1/ice-servers`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tenantToken(key, clock.ms)}` },
      });
      const json = await res.json();
      assertMatchesOpenApi('/v1/ice-servers', 'post', res.status, json);
      return { status: res.status, json: json as Record<string, unknown> };
    };
    expect((await ice()).status).toBe(200);

    await proxy.cut();
    // Fresh answers need no store at all.
    expect((await ice()).status).toBe(200);
    // Past freshness (60 s) the store is asked, fails, and the stale answer still serves.
    clock.advance(61_000);
    expect((await ice()).status).toBe(200);
    clock.advance(4 * 60_000);
    expect((await ice()).status).toBe(200);
    // Past the stale deadline (fresh 60 s + 5 min): fail closed.
    clock.advance(60_000);
    const refused = await ice();
    expect(refused).toMatchObject({ status: 503, json: { error: 'entitlement_unavailable' } });
    expect(node.logger.matching('store unreachable').length).toBeGreaterThanOrEqual(1);
    expect(node.logger.matching('store unreachable').length).toBeLessThanOrEqual(2);
    expect(
      await counterValue(node.metrics, 'icegate_store_errors_total', {
        backend: 'postgres',
        operation: 'read',
      }),
    ).toBeGreaterThan(0);
    expect(
      await counterValue(node.metrics, 'icegate_credential_requests_total', {
        api: 'ice_servers',
        outcome: 'entitlement_unavailable',
      }),
    ).toBe(1);

    await proxy.restore();
    clock.advance(1_000);
    expect((await ice()).status).toBe(200);
  });
});
