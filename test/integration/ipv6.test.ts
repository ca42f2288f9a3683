// IPv6 and dual stack (issue 5): a server listening on `::` serves IPv6 and IPv4 clients; IPv6
// relays through REQUESTED-ADDRESS-FAMILY (coturn's uclient -x against an echo peer on ::1, over
// UDP and TCP), dual allocations through ADDITIONAL-ADDRESS-FAMILY (uclient -Z), 440 for a family
// without a relay address, STUN Binding over IPv6, and the peer filter on IPv6 peers.
import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Attr, readErrorCode } from '../../src/stun/index.js';
import { PORTS } from '../helpers/ports.js';
import { startTestHost, type TestHost } from '../helpers/test-host.js';
import { attributeOf, mappedAddress, relayedAddress, TurnClient } from '../helpers/turn-client.js';
import { runUclient, uclientSummary } from '../helpers/uclient.js';

const SECRET = 'ipv6-secret';
const PEER_PORT = PORTS.ipv6.peer;
const { relayMin, relayMax } = PORTS.ipv6;

let host: TestHost;
let peer: ChildProcess;

beforeAll(async () => {
  host = await startTestHost({
    listenIp: '::',
    relayIp: '127.0.0.1',
    relayIp6: '::1',
    relayMin,
    relayMax: relayMin + 69,
    secrets: [SECRET],
  });
  peer = spawn('turnutils_peer', ['-L', '::1', '-L', '127.0.0.1', '-p', String(PEER_PORT)], {
    stdio: 'ignore',
  });
  await new Promise((resolve) => setTimeout(resolve, 300));
});

afterAll(async () => {
  peer?.kill('SIGKILL');
  await host?.close();
});

function expectNoLoss(output: string, messages = 2000): void {
  const numbers = uclientSummary(output);
  expect(numbers.lost).toBe(0);
  expect(numbers.sent).toBe(messages);
  expect(numbers.received).toBe(messages);
}

describe('IPv6 relays with coturn uclient', () => {
  it('relays to an IPv6 peer over UDP from a client on ::1 (-x) with no loss', async () => {
    const before = host.record.created.length;
    const result = await runUclient({
      secret: SECRET,
      server: '::1',
      port: host.udp.address.port,
      peer: '::1',
      peerPort: PEER_PORT,
      flags: ['-c', '-x'],
    });
    expectNoLoss(result.output);
    const created = host.record.created.slice(before);
    expect(created.every((a) => a.relay.family === 'IPv6' && a.tuple.client.family === 'IPv6')).toBe(true);
  });

  it('relays to an IPv6 peer over TCP from a client on ::1 (-t -x) with no loss', async () => {
    const result = await runUclient({
      secret: SECRET,
      server: '::1',
      port: host.tcp.address.port,
      peer: '::1',
      peerPort: PEER_PORT,
      flags: ['-t', '-c', '-x'],
    });
    expectNoLoss(result.output);
  });

  it('serves IPv4 clients on the dual-stack :: listener (-X) with no loss', async () => {
    const before = host.record.created.length;
    const result = await runUclient({
      secret: SECRET,
      server: '127.0.0.1',
      port: host.udp.address.port,
      peerPort: PEER_PORT,
      flags: ['-c', '-X'],
    });
    expectNoLoss(result.output);
    const created = host.record.created.slice(before);
    // The client is IPv4 to TURN (its nonce, its XOR-MAPPED-ADDRESS), not ::ffff:127.0.0.1.
    expect(
      created.every((a) => a.tuple.client.family === 'IPv4' && a.tuple.client.address === '127.0.0.1'),
    ).toBe(true);
  });

  for (const peerIp of ['::1', '127.0.0.1']) {
    it(`makes dual allocations (-Z) and relays to an ${peerIp.includes(':') ? 'IPv6' : 'IPv4'} peer with no loss`, async () => {
      const before = host.record.createdFamilies.length;
      const result = await runUclient({
        secret: SECRET,
        port: host.udp.address.port,
        peer: peerIp,
        peerPort: PEER_PORT,
        flags: ['-Z'],
      });
      expectNoLoss(result.output);
      // coturn 4.6 sends ADDITIONAL-ADDRESS-FAMILY under its draft code point 0x8032.
      const created = host.record.createdFamilies.slice(before);
      expect(created.length).toBeGreaterThanOrEqual(10);
      expect(created.every((families) => families.join() === 'IPv4,IPv6')).toBe(true);
    });
  }
});

describe('address families with our own client', () => {
  async function client(target = host): Promise<TurnClient> {
    const { username, password } = target.credential('acme');
    return TurnClient.open({
      transport: 'tcp',
      address: '::1',
      port: target.tcp.address.port,
      username,
      password,
    });
  }

  it('answers STUN Binding over IPv6 with an IPv6 XOR-MAPPED-ADDRESS', async () => {
    const turn = await client();
    try {
      const response = await turn.binding();
      expect(mappedAddress(response)).toEqual({ family: 'IPv6', address: '::1', port: turn.address.port });
    } finally {
      turn.close();
    }
  });

  it('gives an IPv6 relayed address for REQUESTED-ADDRESS-FAMILY IPv6, IPv4 without it', async () => {
    const six = await client();
    const four = await client();
    try {
      const v6 = await six.allocate((b) => b.addAddressFamily(Attr.REQUESTED_ADDRESS_FAMILY, 'IPv6'));
      expect(relayedAddress(v6)).toMatchObject({ family: 'IPv6', address: '::1' });
      const v4 = await four.allocate();
      expect(relayedAddress(v4)).toMatchObject({ family: 'IPv4', address: '127.0.0.1' });
      // A peer of the other family: 443 (RFC 8656 section 10.2).
      expect((await six.createPermission({ family: 'IPv4', address: '127.0.0.1', port: 9 })).code).toBe(443);
    } finally {
      six.close();
      four.close();
    }
  });

  it('answers 440 for IPv6 when the server has no IPv6 relay address', async () => {
    const v4only = await startTestHost({
      relayMin: relayMin + 70,
      relayMax: relayMin + 79,
      listenIp: '::1',
      relayIp: '127.0.0.1',
    });
    const turn = await client(v4only);
    try {
      const response = await turn.allocate((b) => b.addAddressFamily(Attr.REQUESTED_ADDRESS_FAMILY, 'IPv6'));
      expect(response.code).toBe(440);
      const dualResponse = await turn.allocate((b) =>
        b.addAddressFamily(Attr.ADDITIONAL_ADDRESS_FAMILY, 'IPv6'),
      );
      expect(dualResponse.code).toBe(200);
      const error = attributeOf(dualResponse, Attr.ADDRESS_ERROR_CODE);
      expect(error && readErrorCode(error)?.code).toBe(440);
    } finally {
      turn.close();
      await v4only.close();
    }
  });

  it('applies the peer filter to IPv6 peers, embedded IPv4 included', async () => {
    const filtered = await startTestHost({
      relayMin: relayMin + 80,
      relayMax: relayMax,
      listenIp: '::1',
      relayIp: '127.0.0.1',
      relayIp6: '::1',
      allowLoopbackPeers: false,
    });
    const turn = await client(filtered);
    try {
      expect(
        (await turn.allocate((b) => b.addAddressFamily(Attr.REQUESTED_ADDRESS_FAMILY, 'IPv6'))).code,
      ).toBe(200);
      for (const address of [
        '::1', // loopback
        '::ffff:127.0.0.1', // IPv4-mapped loopback
        '::ffff:169.254.169.254', // IPv4-mapped cloud metadata
        '64:ff9b::a9fe:a9fe', // NAT64 of 169.254.169.254
        'fe80::1', // link-local
        'fc00::1', // unique local
        '2002:7f00:1::1', // 6to4 of 127.0.0.1
      ]) {
        const response = await turn.createPermission({ family: 'IPv6', address, port: 9 });
        expect(response.code, address).toBe(403);
      }
      expect(
        (await turn.createPermission({ family: 'IPv6', address: '2001:4860:4860::8888', port: 9 })).code,
      ).toBe(200);
    } finally {
      turn.close();
      await filtered.close();
    }
  });
});
