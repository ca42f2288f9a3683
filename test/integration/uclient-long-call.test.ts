// coturn's turnutils_uclient holds a call through icegate across several permission lifetimes
// (issue 16): with a 2 s permission, uclients over UDP, TCP and TLS relay 8 s of paced messages
// through channels to an echo peer and lose none.
//
// What uclient refreshes and when (coturn's src/apps/uclient/uclient.c, refresh_channel; seen in
// the timeline below): at setup an Allocate it releases at once, then an Allocate, ChannelBinds and
// Refresh (LIFETIME 600) + CreatePermission + ChannelBind, all within half a second; then the same
// three every 30 s, whatever lifetimes the server grants; a last Refresh(0) ends the allocation. Within this 8 s call it sends no refresh at all, so
// the 2 s permission lives on only through the channel (a ChannelBind keeps its peer's permission
// for the channel's lifetime). With Send indications (-s) and a permission shorter than 30 s,
// uclient would lose data: that is its fixed refresh period, not the server.
import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestTimeline } from '../helpers/libnice.js';
import { PORTS } from '../helpers/ports.js';
import { startTestHost, type TestHost } from '../helpers/test-host.js';
import { makeTestCertificate, type TestCertificate } from '../helpers/tls-cert.js';
import { openTlsRecordTap } from '../helpers/tls-record-tap.js';
import { expectTlsUclientDelivery, runUclient, uclientSummary } from '../helpers/uclient.js';

const SECRET = 'uclient-long-call-secret';
const PEER_PORT = PORTS.uclientLongCall.peer;
/** Permission lifetime, seconds. */
const PERMISSION_S = 2;
/** One client per transport, 400 messages 20 ms apart: 8 s, four permission lifetimes. */
const CLIENTS = 1;
const MESSAGES = 400;

let cert: TestCertificate;
let host: TestHost;
let peer: ChildProcess;

beforeAll(async () => {
  cert = await makeTestCertificate();
  host = await startTestHost({
    relayMin: PORTS.uclientLongCall.relayMin,
    relayMax: PORTS.uclientLongCall.relayMax,
    secrets: [SECRET],
    tls: { certFile: cert.certFile, keyFile: cert.keyFile },
    limits: { permissionLifetime: PERMISSION_S },
  });
  peer = spawn('turnutils_peer', ['-L', '127.0.0.1', '-p', String(PEER_PORT)], { stdio: 'ignore' });
  await new Promise((resolve) => setTimeout(resolve, 300));
});

afterAll(async () => {
  peer?.kill('SIGKILL');
  await host?.close();
  await cert?.dispose();
});

describe('turnutils_uclient through icegate with a 2 s permission', () => {
  it('relays 8 s over UDP, TCP and TLS through channels with no loss', async () => {
    const start = Date.now();
    const runs = { udp: [] as string[], tcp: ['-t'], tls: ['-t', '-S'] };
    // One after the other. Over TLS uclient counts a frame that shared a TLS record with the one
    // before it as lost (docs/tls-records.md): that run goes through a record tap, and icegate's own
    // counters show it relayed every echo.
    const tap = await openTlsRecordTap(host.tls!.address.port);
    const results = [];
    let tlsNumbers: { lost: number; sent: number; received: number } | undefined;
    try {
      for (const [transport, flags] of Object.entries(runs)) {
        const port = transport === 'udp' ? host.udp : transport === 'tcp' ? host.tcp : host.tls!;
        const result = await runUclient({
          secret: SECRET,
          port: transport === 'tls' ? tap.port : port.address.port,
          peerPort: PEER_PORT,
          flags: [...flags, '-c', '-X'],
          clients: CLIENTS,
          messages: MESSAGES,
          timeoutMs: 25_000,
        });
        const numbers = uclientSummary(result.output);
        if (transport === 'tls') tlsNumbers = numbers;
        else results.push({ transport, numbers });
      }
      expect(tlsNumbers?.sent).toBe(CLIENTS * MESSAGES);
      expectTlsUclientDelivery(host, tlsNumbers!, tap, CLIENTS * MESSAGES);
    } finally {
      await tap.close();
    }
    expect(results).toEqual(
      ['udp', 'tcp'].map((transport) => ({
        transport,
        numbers: { lost: 0, sent: CLIENTS * MESSAGES, received: CLIENTS * MESSAGES },
      })),
    );
    const transports = host.record.created.map((a) => a.tuple.transport).sort();
    expect(transports).toEqual(['tcp', 'tcp', 'tls', 'tls', 'udp', 'udp']);

    // uclient's own requests, per client that bound a channel: its setup within a second, nothing
    // more for 30 s, and Refresh(0) at the end: the call outlived its permission four times over
    // with a single CreatePermission.
    const timeline = requestTimeline(host.record.answered, start);
    const callers = Object.values(timeline).filter((methods) => methods['ChannelBind'] !== undefined);
    expect(callers).toHaveLength(3);
    for (const methods of callers) {
      expect(methods['Allocate']).toHaveLength(1);
      expect(methods['CreatePermission']).toHaveLength(1);
      const setup = methods['Allocate']![0]!;
      expect(Math.max(...methods['ChannelBind']!, methods['CreatePermission']![0]!) - setup).toBeLessThan(1);
      const last = methods['Refresh']!.at(-1)!;
      expect(last - setup).toBeGreaterThan(4 * PERMISSION_S);
    }
  }, 60_000);
});
