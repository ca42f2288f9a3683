// Real-time calls longer than 10 minutes through icegate with the RFC lifetimes (issue 16): a
// werift call (it refreshes only its channel binding, about every 500 s, and never sends
// CreatePermission) and a Chromium call (it refreshes permissions itself), both relay-only over
// UDP, one data-channel message a second each way, running side by side. Before issue 16 the
// werift call lost its peer's permission at 300 s and ICE consent at about 330 s.
// LONG_CALL_SECONDS shortens the calls for a trial run (the report says how long they were).
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RTCPeerConnection } from 'werift';
import { launchChromium } from '../test/helpers/browser.js';
import { startTestHost, type TestHost } from '../test/helpers/test-host.js';
import { connectDataChannel } from '../test/helpers/werift-channel.js';
import { pageCall } from './lib/page-call.js';
import { writePart } from './lib/report.js';
import { STRESS_PORTS } from './lib/stress-ports.js';

const CALL_SECONDS = Number(process.env['LONG_CALL_SECONDS'] ?? 660);

interface CallResult {
  stack: string;
  seconds: number;
  sent: number;
  echoed: number;
  error?: string;
}

let host: TestHost;
let browser: Browser;
const results: CallResult[] = [];

beforeAll(async () => {
  // RFC lifetimes (300 s permissions, 600 s channels) and allocations (werift refreshes at 5/6).
  host = await startTestHost({
    relayMin: STRESS_PORTS.longCall.relayMin,
    relayMax: STRESS_PORTS.longCall.relayMax,
  });
  browser = await launchChromium();
});

afterAll(async () => {
  const lost = results.reduce((n, r) => n + (r.sent - r.echoed), 0);
  const rows = results.map(
    (r) => `| ${r.stack} | ${r.seconds} | ${r.sent} | ${r.echoed} | ${r.sent - r.echoed} |`,
  );
  writePart({
    id: 'long-call',
    title: 'Long calls with RFC lifetimes (issue 16)',
    order: 9,
    passed: results.length === 2 && lost === 0 && results.every((r) => r.error === undefined),
    markdown: [
      '| stack | seconds | sent | echoed | lost |',
      '|---|---|---|---|---|',
      ...rows,
      '',
      'UDP, relay-only, one message a second echoed back; permissions 300 s, channels 600 s.',
    ].join('\n'),
    data: results,
  });
  await browser?.close();
  await host?.close();
});

async function weriftCall(): Promise<CallResult> {
  const credential = host.credential('acme');
  const make = () =>
    new RTCPeerConnection({
      iceTransportPolicy: 'relay',
      iceServers: [
        {
          urls: `turn:127.0.0.1:${host.udp.address.port}?transport=udp`,
          username: credential.username,
          credential: credential.password,
        },
      ],
    });
  const a = make();
  const b = make();
  try {
    const { local, remote } = await connectDataChannel(a, b);
    remote.onMessage.subscribe((data) => remote.send(data));
    let echoed = 0;
    local.onMessage.subscribe(() => {
      echoed++;
    });
    let sent = 0;
    const started = Date.now();
    while (Date.now() - started < CALL_SECONDS * 1000) {
      local.send(`ping ${sent++}`);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    await new Promise((resolve) => setTimeout(resolve, 2000));
    return { stack: 'werift', seconds: CALL_SECONDS, sent, echoed };
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}

async function chromiumCall(): Promise<CallResult> {
  const credential = host.credential('acme');
  const page = await browser.newPage();
  try {
    const out = await page.evaluate(pageCall, {
      iceServers: [
        {
          urls: `turn:127.0.0.1:${host.udp.address.port}?transport=udp`,
          username: credential.username,
          credential: credential.password,
        },
      ],
      seconds: CALL_SECONDS,
    });
    return { stack: 'chromium', seconds: CALL_SECONDS, ...out };
  } finally {
    await page.close();
  }
}

describe('calls longer than 10 minutes (issue 16)', () => {
  it('werift and Chromium keep every message over UDP with the RFC lifetimes', async () => {
    const [werift, chromium] = await Promise.all([weriftCall(), chromiumCall()]);
    results.push(werift, chromium);
    for (const r of [werift, chromium]) {
      expect(r.error).toBeUndefined();
      expect(r.sent).toBeGreaterThanOrEqual(CALL_SECONDS - 5);
      expect(r.echoed).toBe(r.sent);
    }
    // Both calls were relayed (relay-only) and no allocation expired under them.
    expect(host.record.deleted.filter((d) => d.reason === 'expired')).toHaveLength(0);
  });
});
