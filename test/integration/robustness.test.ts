// No byte sequence and no vanishing client takes the relay down (issue 2): a 1-byte datagram on
// a relay port, a bounded flood of random datagrams on the listening port, and a client that
// disappears mid-allocation leave the server answering and the allocation count right.
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAGIC_COOKIE, Method } from '../../src/stun/index.js';
import { PORTS } from '../helpers/ports.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';
import { relayedAddress, TurnClient } from '../helpers/turn-client.js';

/** Short allocation lifetime, so the vanished client's allocation expires within the test. */
const LIFETIME = 2;

let relay: TestRelay;

beforeAll(async () => {
  relay = await startTestRelay({
    relayMin: PORTS.robustness.relayMin,
    relayMax: PORTS.robustness.relayMax,
    lifetime: LIFETIME,
    tickMs: 100,
  });
});

afterAll(async () => {
  await relay?.close();
});

async function udpSocket(): Promise<dgram.Socket> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  return socket;
}

async function client(): Promise<TurnClient> {
  const { username, password } = relay.credential('acme');
  return TurnClient.open({ address: '127.0.0.1', port: relay.port, username, password });
}

/** A random datagram, sometimes shaped like STUN or ChannelData so the decoders go deep. */
function junk(i: number): Buffer {
  const body = randomBytes(i % 97 === 0 ? 0 : 1 + (i % 300));
  if (body.length >= 20 && i % 3 === 0) {
    body[0] = 0x00;
    body[1] = i % 2 === 0 ? 0x01 : 0x03;
    body.writeUInt16BE((body.length - 20) & ~3, 2);
    body.writeUInt32BE(MAGIC_COOKIE, 4);
  } else if (body.length >= 4 && i % 3 === 1) {
    body[0] = 0x40 | (body[0]! & 0x0f);
  }
  return body;
}

describe('robustness of the UDP relay', () => {
  it('survives a 1-byte datagram on a relay port, and relays it from a permitted peer', async () => {
    const turn = await client();
    const allocated = await turn.allocate();
    expect(allocated.code).toBe(200);
    const relayAddress = relayedAddress(allocated);

    const stranger = await udpSocket();
    stranger.send(Buffer.from([0x42]), relayAddress.port, relayAddress.address);
    const peer = await udpSocket();
    const peerAddress = { family: 'IPv4' as const, address: '127.0.0.1', port: peer.address().port };
    expect((await turn.createPermission(peerAddress)).code).toBe(200);
    peer.send(Buffer.from([0x17]), relayAddress.port, relayAddress.address);

    const indication = await turn.receiveRelayed();
    expect(indication).toEqual({ kind: 'data-indication', peer: peerAddress, data: Buffer.from([0x17]) });
    // The stranger's byte had no permission: dropped, nothing relayed for it.
    expect(relay.record.dropped).toContain('no-permission');
    expect((await turn.binding()).code).toBe(200);
    expect(relay.server.core.allocationCount).toBe(1);

    expect((await turn.refresh(0)).code).toBe(200);
    expect(relay.server.core.allocationCount).toBe(0);
    stranger.close();
    peer.close();
    await turn.close();
  });

  it('survives a flood of 20,000 random datagrams on the listening port', async () => {
    const turn = await client();
    expect((await turn.allocate()).code).toBe(200);
    const flooder = await udpSocket();
    const answered = relay.record.answered.length;
    const dropped = relay.record.dropped.length;
    for (let batch = 0; batch < 20; batch++) {
      for (let i = 0; i < 1000; i++) flooder.send(junk(batch * 1000 + i), relay.port, '127.0.0.1');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await new Promise((resolve) => setTimeout(resolve, 200));

    expect(relay.record.errors).toEqual([]);
    expect(relay.server.core.allocationCount).toBe(1);
    // The flood reached the core (dropped or answered), not just the kernel (which may drop some).
    const handled = relay.record.dropped.length - dropped + relay.record.answered.length - answered;
    expect(handled).toBeGreaterThan(5_000);
    // The junk got no TURN answers beyond what STUN-shaped requests deserve (400s/401s); and the
    // server still answers a real client.
    expect(
      relay.record.answered.slice(answered).every((a) => a.code !== 200 || a.method === Method.Binding),
    ).toBe(true);
    const binding = await turn.binding();
    expect(binding.code).toBe(200);
    expect((await turn.refresh(0)).code).toBe(200);
    expect(relay.server.core.allocationCount).toBe(0);
    flooder.close();
    await turn.close();
  });

  it('expires the allocation of a client that vanished and keeps serving others', async () => {
    const vanishing = await client();
    expect((await vanishing.allocate()).code).toBe(200);
    expect(relay.server.core.allocationCount).toBe(1);
    await vanishing.close();

    const other = await client();
    expect((await other.binding()).code).toBe(200);
    expect(relay.server.core.allocationCount).toBe(1);

    const deadline = Date.now() + (LIFETIME + 2) * 1000;
    while (relay.server.core.allocationCount > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(relay.server.core.allocationCount).toBe(0);
    expect(relay.record.deleted.at(-1)?.reason).toBe('expired');
    expect(relay.server.relays.size).toBe(0);
    expect((await other.binding()).code).toBe(200);
    await other.close();
  });
});
