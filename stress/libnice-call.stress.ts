// A libnice call longer than 10 minutes through icegate with the RFC lifetimes (issue 16 point 3):
// two relay-only libnice 0.1.21 agents per transport, over UDP, TCP and TLS side by side, ten
// numbered messages a second each way, credentials from POST /v1/ice-servers. Every message must
// arrive; the report shows which TURN request each client sent when (libnice: Refresh at 540 s,
// CreatePermission every 240 s, ChannelBind at 540 s; docs/ice-stacks.md).
// LIBNICE_CALL_SECONDS shortens the call for a trial run (the report says how long it was).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GateNode, startGateNode } from '../test/helpers/gate-node.js';
import { iceServers, type LibniceResult, requestTimeline, runLibniceCall } from '../test/helpers/libnice.js';
import { writePart } from './lib/report.js';
import { STRESS_PORTS } from './lib/stress-ports.js';

const CALL_SECONDS = Number(process.env['LIBNICE_CALL_SECONDS'] ?? 660);
const TRANSPORTS = ['udp', 'tcp', 'tls'] as const;

let gate: GateNode;

beforeAll(async () => {
  // RFC lifetimes: 600 s allocations and channels, 300 s permissions.
  gate = await startGateNode({
    relayMin: STRESS_PORTS.libniceCall.relayMin,
    relayMax: STRESS_PORTS.libniceCall.relayMax,
  });
});

afterAll(async () => {
  await gate?.close();
});

function row(transport: string, result: LibniceResult): string {
  const { aToB, bToA } = result;
  return `| ${transport} | ${aToB.sent} / ${bToA.sent} | ${aToB.lost} / ${bToA.lost} | ${Math.max(aToB.maxGapMs, bToA.maxGapMs)} |`;
}

describe('a long libnice call', () => {
  it(`holds ${CALL_SECONDS} s over UDP, TCP and TLS with 0 lost messages`, async () => {
    const entry = await iceServers(gate.url, gate.token());
    const start = Date.now();
    const results = await Promise.all(
      TRANSPORTS.map((transport) =>
        runLibniceCall({
          entry,
          transport,
          seconds: CALL_SECONDS,
          intervalMs: 100,
          tlsCa: gate.cert.certFile,
        }),
      ),
    );
    const timeline = requestTimeline(gate.host.record.answered, start);
    const clients = Object.entries(timeline).map(
      ([client, methods]) =>
        `| ${client} | ${Object.entries(methods)
          .map(([method, times]) => `${method} ${times.join(', ')}`)
          .join('; ')} |`,
    );
    const expired = gate.host.record.deleted.filter((d) => d.reason === 'expired').length;
    const lost = results.reduce((n, r) => n + r.aToB.lost + r.bToA.lost, 0);
    writePart({
      id: 'libnice-call',
      title: 'Long libnice call (issue 16)',
      order: 11,
      passed: lost === 0 && expired === 0,
      markdown: [
        `${CALL_SECONDS} s, RFC lifetimes, 10 messages a second each way.`,
        '',
        '| transport | sent A->B / B->A | lost | longest gap, ms |',
        '| --- | --- | --- | --- |',
        ...results.map((r, i) => row(TRANSPORTS[i]!, r)),
        '',
        'TURN requests per client (seconds from the start):',
        '',
        '| client | requests |',
        '| --- | --- |',
        ...clients,
      ].join('\n'),
      data: { seconds: CALL_SECONDS, results, timeline, expired },
    });
    for (const result of results) {
      for (const direction of [result.aToB, result.bToA]) {
        expect(direction.sent).toBeGreaterThanOrEqual(CALL_SECONDS * 9);
        expect(direction.lost).toBe(0);
      }
    }
    expect(expired).toBe(0);
  });
});
