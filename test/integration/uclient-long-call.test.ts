// coturn's turnutils_uclient holds a call through icegate across several permission lifetimes
// (issue 16): with a 2 s permission, uclients over UDP, TCP and TLS relay 10 s of paced messages
// through channels to an echo peer and lose none.
//
// What uclient refreshes and when (coturn's src/apps/uclient/uclient.c, refresh_channel; seen in
// the timeline below): right after its ChannelBind it sends Refresh (LIFETIME 600), CreatePermission
// and ChannelBind together, then again every 30 s, whatever lifetimes the server grants; a last
// Refresh with LIFETIME 0 ends the allocation. Within this 10 s call it sends no refresh at all, so
// the 2 s permission lives on only through the channel (a ChannelBind keeps its peer's permission
// for the channel's lifetime). With Send indications (-s) and a permission shorter than 30 s,
// uclient would lose data: that is its fixed refresh period, not the server.
import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestTimeline } from '../helpers/libnice.js';
import { PORTS } from '../helpers/ports.js';
import { startTestHost, type TestHost } from '../helpers/test-host.js';
import { makeTestCertificate, type TestCertificate } from '../helpers/tls-cert.js';
import { runUclient, uclientSummary } from '../helpers/uclient.js';

const SECRET = 'uclient-long-call-secret';
const PEER_PORT = PORTS.uclientLongCall.peer;
/** Permission lifetime, seconds. */
const PERMISSION_S = 2;
/** One client per transport, 500 messages 20 ms apart: 10 s, five permission lifetimes. */
const CLIENTS = 1;
const MESSAGES = 500;

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
  it('relays 10 s over UDP, TCP and TLS through channels with no loss', async () => {
    const start = Date.now();
    const runs = { udp: [] as string[], tcp: ['-t'], tls: ['-t', '-S'] };
    // Side by side, to keep the suite short.
    const results = await Promise.all(
      Object.entries(runs).map(async ([transport, flags]) => {
        const port = transport === 'udp' ? host.udp : transport === 'tcp' ? host.tcp : host.tls!;
        const result = await runUclient({
          secret: SECRET,
          port: port.address.port,
          peerPort: PEER_PORT,
          flags: [...flags, '-c', '-X'],
          clients: CLIENTS,
          messages: MESSAGES,
          timeoutMs: 45_000,
        });
        return { transport, numbers: uclientSummary(result.output) };
      }),
    );
    for (const { numbers } of results) {
      expect(numbers).toEqual({ lost: 0, sent: CLIENTS * MESSAGES, received: CLIENTS * MESSAGES });
    }
    const transports = host.record.created.map((a) => a.tuple.transport).sort();
    expect(transports).toEqual(['tcp', 'tcp', 'tls', 'tls', 'udp', 'udp']);

    // uclient's own requests: its setup (Allocate, ChannelBind, then Refresh + CreatePermission +
    // ChannelBind), nothing more for 30 s, and Refresh(0) at the end: the call outlived its
    // permission several times over without a CreatePermission.
    const timeline = requestTimeline(host.record.answered, start);
    expect(Object.keys(timeline)).toHaveLength(3);
    for (const methods of Object.values(timeline)) {
      expect(methods['Allocate']).toHaveLength(1);
      expect(methods['CreatePermission']).toHaveLength(1);
      expect(methods['ChannelBind']?.length).toBeLessThanOrEqual(2);
      const first = methods['CreatePermission']?.[0] ?? 0;
      const last = methods['Refresh']?.at(-1) ?? 0;
      expect(last - first).toBeGreaterThan(4 * PERMISSION_S);
    }
  }, 60_000);
});
