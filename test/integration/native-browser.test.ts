// A real browser through icegate's native data plane (issue 9), as test/integration/browser.test.ts
// does on the JS path: headless Chromium gets a credential from POST /v1/ice-servers of a whole
// node started with TURN_DATA_PLANE=native, then two RTCPeerConnections with iceTransportPolicy
// 'relay' exchange data-channel messages over TURN/UDP, and getStats() shows the selected pair is
// relay to relay; the plane's counters show it carried the data.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, relayPair } from '../helpers/browser.js';
import { PORTS } from '../helpers/ports.js';
import { announceSkip, NATIVE_UNAVAILABLE, type NativeNode, startNativeNode } from './native-harness.js';

announceSkip('native-browser.test.ts');

let native: NativeNode;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  if (NATIVE_UNAVAILABLE !== null) return;
  native = await startNativeNode(PORTS.nativeBrowser);
  browser = await launchChromium();
  page = await browser.newPage();
  await page.goto(`${native.url}/healthz`);
}, 30_000);

afterAll(async () => {
  await browser?.close();
  await native?.close();
});

describe.skipIf(NATIVE_UNAVAILABLE !== null)('Chromium through icegate, TURN_DATA_PLANE=native', () => {
  it('relays data-channel messages between two relay-only peers over UDP', async () => {
    const before = native.counters();
    const createdBefore = native.logger.matching('allocation started').length;
    const messages = Array.from({ length: 20 }, (_, i) => `native message ${i}`);
    const url = `turn:127.0.0.1:${native.turnPort}?transport=udp`;
    const result = await page.evaluate(relayPair, {
      iceServers: [{ urls: [url], username: native.tenant.username, credential: native.tenant.credential }],
      messages,
      timeoutMs: 15_000,
    });
    expect(result.error).toBeUndefined();
    expect(result.received).toEqual(messages);
    expect(result.local).toMatchObject({ candidateType: 'relay', relayProtocol: 'udp' });
    expect(result.remoteType).toBe('relay');
    expect(native.logger.matching('allocation started').length - createdBefore).toBeGreaterThanOrEqual(2);
    // Peer data reached the browsers from the plane (Data indications or ChannelData it built).
    // A data thread counts a batch after its sendmmsg returns, so the browsers can hold the last
    // datagrams before they are counted (seen once in CI: 15 counted, all 20 messages received).
    const toClients = () => {
      const after = native.counters();
      return (
        after.sentChannelData -
        before.sentChannelData +
        (after.sentDataIndication - before.sentDataIndication)
      );
    };
    await expect.poll(toClients, { timeout: 2_000 }).toBeGreaterThanOrEqual(messages.length);
    expect(native.node.relay.native?.movedToJs).toBe(0);
  }, 30_000);
});
