// TURN over TCP and TLS (issue 5): coturn's turnutils_uclient relays through icegate to an echo
// peer over TCP (-t) and TLS (-t -S) with no loss; our own stream client checks STUN Binding on
// both, padded ChannelData both ways, and that closing the connection ends the allocation.
import { type ChildProcess, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { readFile } from 'node:fs/promises';
import tls, { type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PORTS } from '../helpers/ports.js';
import { startTestHost, type TestHost } from '../helpers/test-host.js';
import { makeTestCertificate, type TestCertificate } from '../helpers/tls-cert.js';
import { openTlsRecordTap } from '../helpers/tls-record-tap.js';
import {
  connectStream,
  mappedAddress,
  relayedAddress,
  type StreamTarget,
  TurnClient,
} from '../helpers/turn-client.js';
import { expectTlsUclientDelivery, runUclient, uclientSummary } from '../helpers/uclient.js';

const SECRET = 'tcp-tls-secret';
const PEER_PORT = PORTS.tcpTls.peer;

let cert: TestCertificate;
let host: TestHost;
let peer: ChildProcess;

beforeAll(async () => {
  cert = await makeTestCertificate();
  host = await startTestHost({
    relayMin: PORTS.tcpTls.relayMin,
    relayMax: PORTS.tcpTls.relayMax,
    secrets: [SECRET],
    tls: { certFile: cert.certFile, keyFile: cert.keyFile },
  });
  peer = spawn('turnutils_peer', ['-L', '127.0.0.1', '-p', String(PEER_PORT)], { stdio: 'ignore' });
  await new Promise((resolve) => setTimeout(resolve, 300));
});

afterAll(async () => {
  peer?.kill('SIGKILL');
  await host?.close();
  await cert?.dispose();
});

function target(transport: 'tcp' | 'tls'): StreamTarget {
  const listener = transport === 'tcp' ? host.tcp : host.tls!;
  return { transport, address: '127.0.0.1', port: listener.address.port };
}

async function client(transport: 'tcp' | 'tls'): Promise<TurnClient> {
  const { username, password } = host.credential('acme');
  return TurnClient.open({ ...target(transport), username, password });
}

describe('turnutils_uclient through icegate over TCP and TLS', () => {
  it('relays over TCP (-t) in channel mode with no loss', async () => {
    const result = await runUclient({
      secret: SECRET,
      port: host.tcp.address.port,
      peerPort: PEER_PORT,
      flags: ['-t', '-c', '-X'],
    });
    const numbers = uclientSummary(result.output);
    expect(numbers.lost).toBe(0);
    expect(numbers.sent).toBe(2000);
    expect(numbers.received).toBe(2000);
  });

  it('relays over TCP with Send/Data indications (-t -s) with no loss', async () => {
    const result = await runUclient({
      secret: SECRET,
      port: host.tcp.address.port,
      peerPort: PEER_PORT,
      flags: ['-t', '-s', '-c', '-X'],
    });
    const numbers = uclientSummary(result.output);
    expect(numbers.lost).toBe(0);
    expect(numbers.received).toBe(2000);
  });

  // uclient over TLS counts a frame that shared a TLS record with the one before it as lost
  // (docs/tls-records.md); icegate's own counters and the record tap show it relayed all 2000.
  it('relays over TLS (-t -S) with no loss', async () => {
    const tap = await openTlsRecordTap(host.tls!.address.port);
    try {
      const result = await runUclient({
        secret: SECRET,
        port: tap.port,
        peerPort: PEER_PORT,
        flags: ['-t', '-S', '-c', '-X'],
      });
      const numbers = uclientSummary(result.output);
      expect(numbers.sent).toBe(2000);
      expectTlsUclientDelivery(host, numbers, tap, 2000);
    } finally {
      await tap.close();
    }
    const tlsAllocations = host.record.created.filter((a) => a.tuple.transport === 'tls');
    expect(tlsAllocations.length).toBeGreaterThanOrEqual(10);
  });
});

describe('the stream transports', () => {
  for (const transport of ['tcp', 'tls'] as const) {
    it(`answers STUN Binding over ${transport} with the client's address`, async () => {
      const turn = await client(transport);
      try {
        const response = await turn.binding();
        expect(response.code).toBe(200);
        expect(mappedAddress(response)).toEqual({
          family: 'IPv4',
          address: '127.0.0.1',
          port: turn.address.port,
        });
      } finally {
        turn.close();
      }
    });

    it(`relays padded ChannelData both ways over ${transport}, and ends the allocation on close`, async () => {
      const peerSocket = dgram.createSocket('udp4');
      await new Promise<void>((resolve) => peerSocket.bind(0, '127.0.0.1', () => resolve()));
      const peerAddress = { family: 'IPv4' as const, address: '127.0.0.1', port: peerSocket.address().port };
      const turn = await client(transport);
      try {
        const allocated = await turn.allocate();
        expect(allocated.code).toBe(200);
        const relay = relayedAddress(allocated);
        expect((await turn.channelBind(0x4001, peerAddress)).code).toBe(200);

        const fromClient = new Promise<Buffer>((resolve) => peerSocket.once('message', resolve));
        turn.channelData(0x4001, Buffer.from('hello')); // 5 bytes: 3 bytes of padding follow
        expect((await fromClient).toString()).toBe('hello');

        peerSocket.send(Buffer.from('abcdefg'), relay.port, relay.address);
        const frame = await turn.receive((f) => f.readUInt16BE(0) === 0x4001);
        expect(frame.readUInt16BE(2)).toBe(7);
        expect(frame.subarray(4, 11).toString()).toBe('abcdefg');

        const created = host.record.created.findLast(
          (a) => a.relay.port === relay.port && a.tuple.client.port === turn.address.port,
        )!;
        expect(created.tuple.transport).toBe(transport);
        turn.close();
        await expect
          .poll(() => host.record.deleted.find((d) => d.allocation.id === created.id)?.reason, {
            timeout: 2000,
          })
          .toBe('transport-closed');
        expect(host.host.core.allocationOf(created.tuple)).toBeUndefined();
      } finally {
        turn.close();
        peerSocket.close();
      }
    });
  }

  it('serves TLS 1.3 and 1.2, and refuses TLS 1.1 at the server', async () => {
    const ca = await readFile(cert.certFile);
    const port = host.tls!.address.port;
    const tls13 = (await connectStream({ transport: 'tls', address: 'localhost', port, ca })) as TLSSocket;
    expect(tls13.getProtocol()).toBe('TLSv1.3');
    tls13.destroy();
    const tls12 = await new Promise<TLSSocket>((resolve, reject) => {
      const socket = tls.connect(
        { host: '127.0.0.1', servername: 'localhost', port, ca, maxVersion: 'TLSv1.2' },
        () => resolve(socket),
      );
      socket.once('error', reject);
    });
    expect(tls12.getProtocol()).toBe('TLSv1.2');
    tls12.destroy();
    const failuresBefore = host.tls!.stats.tlsFailures;
    // The client offers TLS 1.0-1.1 only, with every cipher allowed: the server's alert refuses it.
    const old = await new Promise<string>((resolve) => {
      const socket = tls.connect(
        {
          host: '127.0.0.1',
          port,
          rejectUnauthorized: false,
          minVersion: 'TLSv1',
          maxVersion: 'TLSv1.1',
          ciphers: 'DEFAULT@SECLEVEL=0',
        },
        () => {
          resolve(`connected with ${socket.getProtocol()}`);
          socket.destroy();
        },
      );
      socket.once('error', (error) => resolve(`refused: ${error.message}`));
    });
    expect(old).toMatch(/refused: .*protocol version/);
    await expect.poll(() => host.tls!.stats.tlsFailures, { timeout: 1000 }).toBe(failuresBefore + 1);
  });
});
