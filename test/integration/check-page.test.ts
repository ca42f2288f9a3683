// The connectivity-check page (issue 5) in headless Chromium: served by icegate's HTTP app under
// its own strict CSP, it takes a tenant token from the link's fragment, gets ICE servers, and
// reports per transport (UDP, TCP, TLS) whether a relay is reachable, with timings; against a
// server whose TURN ports are closed it says which ports to open. The round-trip column is the
// user's choice (a box, ticked by ?rtt=1), with the server's production default (no
// measureRoundTrip). The README's picture of the page comes from the quick start's node
// (test/integration/quickstart.test.ts, UPDATE_CHECK_PAGE_SCREENSHOT=1).
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHECK_PAGE_CSP } from '../../src/http/check-page/index.js';
import { launchChromium } from '../helpers/browser.js';
import { activeOrders, type GateNode, startGateNode } from '../helpers/gate-node.js';
import { PORTS } from '../helpers/ports.js';
import {
  assertMatchesOpenApi,
  fileTestStore,
  startNode,
  type TestNode,
  type TestStore,
  tenantToken,
  tenantWithKey,
} from './http-harness.js';

const RELAY_PORTS = { min: PORTS.checkPage.relayMin, max: PORTS.checkPage.relayMax };

let gate: GateNode;
let browser: Browser;

beforeAll(async () => {
  gate = await startGateNode({
    relayMin: RELAY_PORTS.min,
    relayMax: RELAY_PORTS.max,
    // The production default: the round trip is measured only when the page is asked to.
    http: { checkPage: { relayPorts: RELAY_PORTS } },
  });
  browser = await launchChromium();
}, 30_000);

afterAll(async () => {
  await browser?.close();
  await gate?.close();
});

interface RowReport {
  transport: string | null;
  status: string | null;
  allocation: string;
  rtt: string;
}

async function rows(page: Page): Promise<RowReport[]> {
  return page.$$eval('#results tbody tr', (trs) =>
    trs.map((tr) => ({
      transport: tr.getAttribute('data-transport'),
      status: tr.getAttribute('data-status'),
      allocation: tr.querySelector('.allocation')?.textContent ?? '',
      rtt: tr.querySelector('.rtt')?.textContent ?? '',
    })),
  );
}

async function openChecked(page: Page, url: string, timeoutMs = 20_000): Promise<void> {
  await page.goto(url);
  await page.waitForSelector('#report[data-state="done"]', { timeout: timeoutMs });
}

describe('the /check page', () => {
  it('reports UDP, TCP and TLS working with timings and round trips, from a ?rtt=1#token= link', async () => {
    const page = await browser.newPage({ viewport: { width: 1000, height: 860 } });
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await openChecked(page, `${gate.url}/check?rtt=1#token=${gate.token()}`);
    expect(await page.isChecked('#rtt')).toBe(true);
    const report = await rows(page);
    expect(report.map((r) => [r.transport, r.status])).toEqual([
      ['udp', 'ok'],
      ['tcp', 'ok'],
      ['tls', 'ok'],
    ]);
    for (const r of report) {
      expect(r.allocation).toMatch(/^\d+ ms$/);
      expect(r.rtt).toMatch(/^\d+ ms$/);
    }
    expect(await page.textContent('#status')).toBe('Done: 3 of 3 transports work from this network.');
    expect(await page.$$eval('#results td.server', (tds) => tds.map((td) => td.textContent))).toEqual([
      `127.0.0.1:${gate.host.udp.address.port}`,
      `127.0.0.1:${gate.host.tcp.address.port}`,
      `localhost:${gate.host.tls!.address.port}`,
    ]);
    expect(await page.getAttribute('#advice', 'class')).toBe('ok');
    // The token left the address bar at once, and nothing broke the page's CSP.
    expect(page.url()).toBe(`${gate.url}/check?rtt=1`);
    expect(errors).toEqual([]);
    await page.close();
  }, 40_000);

  it('leaves the round trip out unless its box is ticked, then measures it', async () => {
    const page = await browser.newPage();
    await openChecked(page, `${gate.url}/check#token=${gate.token()}`);
    expect(await page.isChecked('#rtt')).toBe(false);
    expect((await rows(page)).map((r) => r.status)).toEqual(['ok', 'ok', 'ok']);
    expect(await page.isVisible('#results th.rtt')).toBe(false);
    await page.check('#rtt');
    await page.fill('#token', gate.token());
    await page.click('#run');
    await page.waitForSelector('#report[data-state="done"]', { timeout: 20_000 });
    expect(await page.textContent('#status')).toBe('Done: 3 of 3 transports work from this network.');
    expect(await page.isVisible('#results th.rtt')).toBe(true);
    for (const r of await rows(page)) expect(r.rtt).toMatch(/^\d+ ms$/);
    await page.close();
  }, 40_000);

  it('runs from a pasted token too, and says why a bad token is refused', async () => {
    const page = await browser.newPage();
    await page.goto(`${gate.url}/check`);
    await page.fill('#token', 'not-a-jwt');
    await page.click('#run');
    await page.waitForSelector('#report[data-state="done"]');
    expect(await page.textContent('#status')).toMatch(/^The check could not start: invalid_token: /);
    await page.close();
  });

  it('is served with its own strict CSP and no inline script', async () => {
    const response = await fetch(`${gate.url}/check`);
    expect(response.headers.get('content-security-policy')).toBe(CHECK_PAGE_CSP);
    const html = await response.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/\son[a-z]+=/);
    const config = await (await fetch(`${gate.url}/check/config.json`)).json();
    expect(config).toEqual({ relayPorts: RELAY_PORTS, measureRoundTrip: false });
    assertMatchesOpenApi('/check/config.json', 'get', 200, config);
  });
});

describe('the /check page against closed TURN ports', () => {
  let store: TestStore;
  let node: TestNode;

  beforeAll(async () => {
    store = await fileTestStore();
    // Nothing listens on these ports (the check-page block's peer port and its neighbours).
    const closed = PORTS.checkPage.peer;
    node = await startNode({
      store: store.store,
      clock: Date.now,
      http: {
        listeners: [
          { transport: 'udp', host: '127.0.0.1', port: closed },
          { transport: 'tcp', host: '127.0.0.1', port: closed + 1 },
          { transport: 'tls', host: 'localhost', port: closed + 2 },
        ],
        checkPage: { relayPorts: RELAY_PORTS },
      },
    });
  });

  afterAll(async () => {
    await node?.close();
    await store?.dispose();
  });

  it('marks every transport blocked and lists what to open in the firewall', async () => {
    const key = await tenantWithKey(store.store, node.licenses, 'acme', activeOrders(), Date.now());
    const page = await browser.newPage();
    await openChecked(page, `${node.app.url}/check#token=${tenantToken(key, Date.now())}`, 30_000);
    expect((await rows(page)).map((r) => [r.transport, r.status])).toEqual([
      ['udp', 'failed'],
      ['tcp', 'failed'],
      ['tls', 'failed'],
    ]);
    expect(await page.getAttribute('#advice', 'class')).toBe('bad');
    // Without measureRoundTrip (the production default) the round-trip column is not shown.
    expect(await page.isVisible('#results th.rtt')).toBe(false);
    const advice = await page.textContent('#advice');
    const closed = PORTS.checkPage.peer;
    expect(advice).toContain('No transport works from this network');
    expect(advice).toContain(
      `UDP ${closed} to 127.0.0.1 (TURN), and UDP ports ${RELAY_PORTS.min}\u2013${RELAY_PORTS.max} to 127.0.0.1`,
    );
    expect(advice).toContain(`TCP ${closed + 1} to 127.0.0.1 (TURN over TCP)`);
    expect(advice).toContain(`TCP ${closed + 2} to localhost (TURN over TLS`);
    expect(advice).toContain('Opening TLS alone is enough');
    await page.close();
  }, 40_000);
});

describe('the /check page against a server that offers no TLS (issue 16)', () => {
  let store: TestStore;
  let node: TestNode;

  beforeAll(async () => {
    store = await fileTestStore();
    const closed = PORTS.checkPage.peer;
    node = await startNode({
      store: store.store,
      clock: Date.now,
      http: {
        listeners: [
          { transport: 'udp', host: '127.0.0.1', port: closed },
          { transport: 'tcp', host: '127.0.0.1', port: closed + 1 },
        ],
        checkPage: { relayPorts: RELAY_PORTS },
      },
    });
  });

  afterAll(async () => {
    await node?.close();
    await store?.dispose();
  });

  it('advises opening TCP, never TLS, when every transport is blocked', async () => {
    const key = await tenantWithKey(store.store, node.licenses, 'acme', activeOrders(), Date.now());
    const page = await browser.newPage();
    await openChecked(page, `${node.app.url}/check#token=${tenantToken(key, Date.now())}`, 30_000);
    expect((await rows(page)).map((r) => [r.transport, r.status])).toEqual([
      ['udp', 'failed'],
      ['tcp', 'failed'],
    ]);
    const advice = await page.textContent('#advice');
    expect(advice).not.toContain('TLS alone');
    expect(advice).not.toContain('(TURN over TLS');
    expect(advice).toContain('Opening TCP alone is enough for browsers to join calls');
    expect(advice).toContain('This server offers no TURN over TLS');
    await page.close();
  }, 40_000);
});
