// A real browser through icegate (issue 5): headless Chromium gets ICE servers from
// POST /v1/ice-servers (a tenant JWT signed with its license key, support active), then two
// relay-only RTCPeerConnections exchange data-channel messages through icegate over UDP, TCP and
// TLS, and getStats() shows the selected pair's local candidate is a relay of that protocol.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, type RelayPairArgs, relayPair } from '../helpers/browser.js';
import { type GateNode, startGateNode } from '../helpers/gate-node.js';
import { PORTS } from '../helpers/ports.js';

interface IceServersBody {
  iceServers: { urls: string[]; username?: string; credential?: string }[];
  ttl: number;
}

let gate: GateNode;
let browser: Browser;
let page: Page;
let body: IceServersBody;

beforeAll(async () => {
  gate = await startGateNode({ relayMin: PORTS.browser.relayMin, relayMax: PORTS.browser.relayMax });
  browser = await launchChromium();
  page = await browser.newPage();
  // A page of the gate's own origin, so the fetch below is same-origin.
  await page.goto(`${gate.url}/healthz`);
  body = await page.evaluate(async (token) => {
    const response = await fetch('/v1/ice-servers', {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{}',
    });
    if (!response.ok) throw new Error(`ice-servers answered ${response.status}: ${await response.text()}`);
    return (await response.json()) as IceServersBody;
  }, gate.token());
}, 30_000);

afterAll(async () => {
  await browser?.close();
  await gate?.close();
});

/** The iceServers body restricted to the one TURN URL of `transport`. */
function restrictedTo(transport: 'udp' | 'tcp' | 'tls'): RelayPairArgs['iceServers'] {
  const turn = body.iceServers.find((s) => s.username !== undefined)!;
  const url = turn.urls.find((u) =>
    transport === 'tls'
      ? u.startsWith('turns:')
      : u.startsWith('turn:') && u.endsWith(`transport=${transport}`),
  );
  if (url === undefined) throw new Error(`no ${transport} URL in ${JSON.stringify(turn.urls)}`);
  return [{ urls: [url], username: turn.username!, credential: turn.credential! }];
}

describe('Chromium relays data-channel messages through icegate', () => {
  it('gets every transport from POST /v1/ice-servers', () => {
    const turn = body.iceServers.find((s) => s.username !== undefined)!;
    expect(turn.urls).toEqual([
      `turn:127.0.0.1:${gate.host.udp.address.port}?transport=udp`,
      `turn:127.0.0.1:${gate.host.tcp.address.port}?transport=tcp`,
      `turns:localhost:${gate.host.tls!.address.port}?transport=tcp`,
    ]);
    expect(turn.username).toMatch(/^\d+:acme/);
  });

  for (const transport of ['udp', 'tcp', 'tls'] as const) {
    it(`over ${transport.toUpperCase()}`, async () => {
      const before = gate.host.record.created.length;
      const messages = Array.from({ length: 20 }, (_, i) => `${transport} message ${i}`);
      const result = await page.evaluate(relayPair, {
        iceServers: restrictedTo(transport),
        messages,
        timeoutMs: 15_000,
      });
      expect(result.error).toBeUndefined();
      expect(result.received).toEqual(messages);
      expect(result.local).toMatchObject({ candidateType: 'relay', relayProtocol: transport });
      expect(result.remoteType).toBe('relay');
      // Both browsers' allocations came over the intended client transport.
      const created = gate.host.record.created.slice(before);
      expect(created.length).toBeGreaterThanOrEqual(2);
      expect(new Set(created.map((a) => a.tuple.transport))).toEqual(new Set([transport]));
    }, 30_000);
  }
});
