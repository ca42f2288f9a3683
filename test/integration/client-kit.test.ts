// The client kit for desknet's NEO pages (issue 20, point 6) in headless Chromium against a real
// icegate (gate + relay): examples/client-kit/index.html, served by a stand-in customer server
// whose token endpoint signs tenant JWTs, gets its configuration through that endpoint and
// icegate's POST /v1/ice-servers (CORS), relays a data channel relay-only, renews short-lived
// credentials before expiresAt with setConfiguration and no ICE restart (same servers), keeps
// relaying after renewals, and surfaces a refused token with icegate's code.
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/browser.js';
import { type GateNode, startGateNode } from '../helpers/gate-node.js';
import { PORTS } from '../helpers/ports.js';
import { TEST_ADMIN_SECRET } from './http-harness.js';

const KIT = 'examples/client-kit';
const TYPES: Record<string, string> = { html: 'text/html', js: 'text/javascript' };

let gate: GateNode;
let browser: Browser;
let customer: Server;
let customerUrl: string;
/** What the stand-in token endpoint hands out next: a real token, or one icegate refuses. */
let tokenMode: 'valid' | 'garbage' = 'valid';

beforeAll(async () => {
  customer = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/icegate/token') {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify({ token: tokenMode === 'valid' ? gate.token() : 'not-a-jwt' }));
      return;
    }
    const file = path.slice(1);
    if (!/^[a-z-]+\.(html|js)$/.test(file)) {
      res.writeHead(404).end();
      return;
    }
    readFile(join(KIT, file)).then(
      (body) => res.writeHead(200, { 'content-type': TYPES[file.split('.')[1]!]! }).end(body),
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => customer.listen(0, '127.0.0.1', resolve));
  customerUrl = `http://127.0.0.1:${(customer.address() as AddressInfo).port}`;
  gate = await startGateNode({
    relayMin: PORTS.clientKit.relayMin,
    relayMax: PORTS.clientKit.relayMax,
    http: {
      config: {
        CREDENTIAL_TTL_MAX: 86_400,
        CORS_ORIGINS: [customerUrl],
        ADMIN_TOKEN_SECRET: TEST_ADMIN_SECRET,
      },
    },
  });
  browser = await launchChromium();
}, 30_000);

afterAll(async () => {
  await browser?.close();
  await gate?.close();
  await new Promise<void>((resolve) => (customer ? customer.close(() => resolve()) : resolve()));
});

interface ExampleState {
  phase: string;
  received: string[];
  renewals: { expiresAt: string; restarted: boolean }[];
  errors: string[];
  relayProtocol: string | null;
}

function state(page: Page): Promise<ExampleState> {
  return page.evaluate('({ ...window.icegateExample, send: undefined })') as Promise<ExampleState>;
}

describe('the client kit example page', () => {
  it('relays a data channel with credentials from the token endpoint, renewed before expiry without an ICE restart', async () => {
    tokenMode = 'valid';
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    // Credentials of 6 s, renewed 2 s before they expire: a renewal about every 4 s.
    await page.goto(`${customerUrl}/index.html?icegate=${gate.url}&ttl=6&renewBeforeMs=2000`);
    await page.waitForFunction('window.icegateExample && window.icegateExample.received.length === 1', null, {
      timeout: 15_000,
    });
    const opened = await state(page);
    expect(opened).toMatchObject({
      phase: 'open',
      received: ['hello through icegate'],
      relayProtocol: 'udp',
    });
    // Two renewals of each peer connection's credentials, each before its expiresAt.
    await page.waitForFunction('window.icegateExample.renewals.length >= 4', null, { timeout: 20_000 });
    await page.evaluate('window.icegateExample.send("after renewals")');
    await page.waitForFunction('window.icegateExample.received.length === 2', null, { timeout: 5_000 });
    const renewed = await state(page);
    expect(renewed.received).toEqual(['hello through icegate', 'after renewals']);
    expect(renewed.renewals.every((r) => r.restarted === false)).toBe(true);
    expect(renewed.errors).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it("surfaces icegate's refusal code when the token is refused", async () => {
    tokenMode = 'garbage';
    const page = await browser.newPage();
    await page.goto(`${customerUrl}/index.html?icegate=${gate.url}`);
    await page.waitForFunction('window.icegateExample && window.icegateExample.phase === "failed"', null, {
      timeout: 10_000,
    });
    expect((await state(page)).errors).toEqual(['invalid_token']);
    expect(await page.textContent('#log')).toContain('failed: invalid_token');
    await page.close();
  }, 30_000);
});
