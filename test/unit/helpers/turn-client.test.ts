// The test TURN client itself, against a scripted server over UDP, TCP and TLS on 127.0.0.1 and
// ::1: the 401/438 nonce round trips with a MESSAGE-INTEGRITY the server verifies, retransmissions
// over UDP on RFC 8489 section 6.2.1's schedule (and none over streams), responses that arrive
// split into small pieces or merged with relayed data in one write, padded ChannelData on streams,
// and transactions that end when the client or the server closes.
import dgram from 'node:dgram';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import tls from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  Attr,
  decodeMessage,
  encodeChannelData,
  getAttribute,
  longTermKey,
  MessageBuilder,
  Method,
  newTransactionId,
  readText,
  StreamDeframer,
  StunClass,
  type StunMessage,
  type TransportAddress,
  verifyIntegrity,
} from '../../../src/stun/index.js';
import { makeTestCertificate, type TestCertificate } from '../../helpers/tls-cert.js';
import { mappedAddress, relayedAddress, TurnClient, type TurnTransport } from '../../helpers/turn-client.js';

const USERNAME = 'alice';
const PASSWORD = 'secret';
const REALM = 'test.realm';
const RELAY: TransportAddress = { family: 'IPv4', address: '192.0.2.1', port: 50_000 };
const PEER: TransportAddress = { family: 'IPv4', address: '192.0.2.7', port: 4000 };

/** How the scripted server writes to a stream. */
type WriteMode = 'whole' | 'bytewise' | 'merged';

/** A scripted TURN server: long-term auth, Binding, and success for any other signed request. */
class ScriptedServer {
  /** Every request received, in order (retransmissions included). */
  readonly requests: StunMessage[] = [];
  /** Every frame received that was not a request (ChannelData, indications). */
  readonly other: Buffer[] = [];
  nonce = 'nonce-1';
  /** Requests to leave unanswered before answering again. */
  drop = 0;
  silent = false;
  mode: WriteMode = 'whole';
  readonly #closers: (() => void)[] = [];
  readonly #streams: net.Socket[] = [];

  private constructor(
    readonly transport: TurnTransport,
    readonly address: TransportAddress,
  ) {}

  static async start(transport: TurnTransport, ip: string, cert?: TestCertificate): Promise<ScriptedServer> {
    const family = net.isIPv6(ip) ? 'IPv6' : 'IPv4';
    if (transport === 'udp') {
      const socket = dgram.createSocket(family === 'IPv6' ? 'udp6' : 'udp4');
      await new Promise<void>((resolve) => socket.bind(0, ip, () => resolve()));
      const server = new ScriptedServer(transport, { family, address: ip, port: socket.address().port });
      socket.on('message', (data, from) => {
        const client = { family, address: from.address, port: from.port } as const;
        for (const out of server.#answer(data, client)) socket.send(out, from.port, from.address);
      });
      server.#closers.push(() => socket.close());
      return server;
    }
    let server: ScriptedServer | null = null;
    const onStream = (stream: net.Socket): void => {
      server!.#streams.push(stream);
      const deframer = new StreamDeframer();
      const client = { family, address: stream.remoteAddress ?? '', port: stream.remotePort ?? 0 } as const;
      stream.on('error', () => {});
      stream.on('data', (chunk: Buffer) => {
        for (const frame of deframer.push(chunk)) {
          const out = server!.#answer(Buffer.from(frame.data), client);
          if (out.length > 0) void server!.#write(stream, out);
        }
      });
    };
    const listener =
      transport === 'tls'
        ? tls.createServer(
            { cert: await readFile(cert!.certFile), key: await readFile(cert!.keyFile) },
            onStream,
          )
        : net.createServer(onStream);
    await new Promise<void>((resolve) => listener.listen(0, ip, () => resolve()));
    const port = (listener.address() as net.AddressInfo).port;
    server = new ScriptedServer(transport, { family, address: ip, port });
    server.#closers.push(() => listener.close());
    return server;
  }

  /** Ends every stream the server accepted. */
  hangUp(): void {
    for (const stream of this.#streams) stream.destroy();
  }

  close(): void {
    this.hangUp();
    for (const close of this.#closers) close();
  }

  #answer(data: Buffer, client: TransportAddress): Buffer[] {
    const decoded = decodeMessage(data);
    if (!decoded.ok || decoded.message.cls !== StunClass.Request) {
      this.other.push(data);
      return [];
    }
    const request = decoded.message;
    this.requests.push(request);
    if (this.silent) return [];
    if (this.drop > 0) {
      this.drop--;
      return [];
    }
    const response = this.#respond(request, client);
    if (this.mode !== 'merged') return [response];
    // Relayed data around the response, all in one write.
    const indication = new MessageBuilder(StunClass.Indication, Method.Data, newTransactionId())
      .addXorAddress(Attr.XOR_PEER_ADDRESS, PEER)
      .add(Attr.DATA, Buffer.from('by indication'))
      .build();
    return [encodeChannelData(0x4001, Buffer.from('odd'), true), response, indication];
  }

  #respond(request: StunMessage, client: TransportAddress): Buffer {
    const tid = request.transactionId;
    if (request.method === Method.Binding) {
      return new MessageBuilder(StunClass.SuccessResponse, request.method, tid)
        .addXorAddress(Attr.XOR_MAPPED_ADDRESS, client)
        .build();
    }
    const challenge = (code: number): Buffer =>
      new MessageBuilder(StunClass.ErrorResponse, request.method, tid)
        .addErrorCode(code)
        .addText(Attr.REALM, REALM)
        .addText(Attr.NONCE, this.nonce)
        .build();
    const text = (type: number): string | null => {
      const attr = getAttribute(request, type);
      return attr ? readText(attr.value) : null;
    };
    const key = longTermKey(text(Attr.USERNAME) ?? '', text(Attr.REALM) ?? '', PASSWORD);
    if (request.integrityOffset < 0 || !verifyIntegrity(request, key)) return challenge(401);
    if (text(Attr.NONCE) !== this.nonce) return challenge(438);
    const success = new MessageBuilder(StunClass.SuccessResponse, request.method, tid);
    if (request.method === Method.Allocate) success.addXorAddress(Attr.XOR_RELAYED_ADDRESS, RELAY);
    return success.build({ integrityKey: key });
  }

  async #write(stream: net.Socket, frames: Buffer[]): Promise<void> {
    const bytes = Buffer.concat(frames);
    if (this.mode !== 'bytewise') {
      stream.write(bytes);
      return;
    }
    // Three bytes a write, apart in time, so the client's reads end mid-header and mid-attribute.
    stream.setNoDelay(true);
    for (let at = 0; at < bytes.length; at += 3) {
      stream.write(bytes.subarray(at, at + 3));
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  }
}

let cert: TestCertificate;
const servers: ScriptedServer[] = [];
const clients: TurnClient[] = [];

beforeAll(async () => {
  cert = await makeTestCertificate();
});

afterAll(async () => {
  await cert?.dispose();
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  for (const server of servers.splice(0)) server.close();
});

async function pair(
  transport: TurnTransport,
  ip = '127.0.0.1',
  options: { timeoutMs?: number; rtoMs?: number } = {},
): Promise<{ server: ScriptedServer; client: TurnClient }> {
  const server = await ScriptedServer.start(transport, ip, cert);
  servers.push(server);
  const client = await TurnClient.open({
    ...server.address,
    transport,
    username: USERNAME,
    password: PASSWORD,
    ...options,
  });
  clients.push(client);
  return { server, client };
}

function signed(request: StunMessage): boolean {
  return getAttribute(request, Attr.MESSAGE_INTEGRITY) !== undefined;
}

describe('TurnClient over every transport and family', () => {
  for (const transport of ['udp', 'tcp', 'tls'] as const) {
    for (const ip of ['127.0.0.1', '::1']) {
      it(`${transport} ${ip}: Binding, then Allocate through a 401 with a verified MESSAGE-INTEGRITY`, async () => {
        const { server, client } = await pair(transport, ip);
        const binding = await client.binding();
        expect(binding.code).toBe(200);
        expect(mappedAddress(binding)).toEqual(client.address);
        expect(client.address.family).toBe(net.isIPv6(ip) ? 'IPv6' : 'IPv4');

        const allocated = await client.allocate();
        expect(allocated.code).toBe(200);
        expect(relayedAddress(allocated)).toEqual(RELAY);
        const allocates = server.requests.filter((r) => r.method === Method.Allocate);
        expect(allocates.map(signed)).toEqual([false, true]);
        expect(client.signer).toMatchObject({ username: USERNAME, realm: REALM, nonce: 'nonce-1' });
      });
    }
  }
});

describe('TurnClient long-term auth', () => {
  it('answers a 438 by taking the new NONCE and signing the request again', async () => {
    const { server, client } = await pair('udp');
    expect((await client.allocate()).code).toBe(200);
    server.nonce = 'nonce-2';
    expect((await client.refresh(600)).code).toBe(200);
    const refreshes = server.requests.filter((r) => r.method === Method.Refresh);
    const nonces = refreshes.map((r) => readText(getAttribute(r, Attr.NONCE)!.value));
    expect(nonces).toEqual(['nonce-1', 'nonce-2']);
    expect(client.signer?.nonce).toBe('nonce-2');
  });

  it('returns the error of an unsigned request as it is, with no retry', async () => {
    const { server, client } = await pair('tcp');
    const answer = await client.unsigned(Method.Allocate);
    expect(answer).toMatchObject({ code: 401, reason: expect.any(String) });
    expect(server.requests).toHaveLength(1);
  });
});

describe('TurnClient transactions', () => {
  it('retransmits over UDP after RTO, then after twice RTO, and takes the answer to a later copy', async () => {
    const { server, client } = await pair('udp', '127.0.0.1', { rtoMs: 60 });
    server.drop = 2;
    const started = Date.now();
    const answer = await client.binding();
    expect(answer.code).toBe(200);
    expect(server.requests).toHaveLength(3);
    const tids = new Set(server.requests.map((r) => r.transactionId.toString('hex')));
    expect(tids.size).toBe(1);
    // Copies at 0, RTO and 3 x RTO.
    expect(Date.now() - started).toBeGreaterThanOrEqual(3 * 60 - 10);
  });

  it('sends a UDP request Rc = 7 times, then gives up Rm = 16 RTOs after the last', async () => {
    const { server, client } = await pair('udp', '127.0.0.1', { rtoMs: 10, timeoutMs: 10_000 });
    server.silent = true;
    const started = Date.now();
    const answer = await client.binding();
    const elapsed = Date.now() - started;
    expect(answer).toEqual({ code: 0, reason: 'no answer', message: null });
    expect(server.requests).toHaveLength(7);
    // Sends at 0, 10, 30, 70, 150, 310, 630 ms; the end 160 ms after the last.
    expect(elapsed).toBeGreaterThanOrEqual(780);
    expect(elapsed).toBeLessThan(3000);
  });

  it('stops retransmitting at timeoutMs', async () => {
    const { server, client } = await pair('udp', '127.0.0.1', { rtoMs: 100, timeoutMs: 250 });
    server.silent = true;
    expect((await client.binding()).code).toBe(0);
    expect(server.requests).toHaveLength(2);
  });

  for (const transport of ['tcp', 'tls'] as const) {
    it(`sends a request once over ${transport}`, async () => {
      const { server, client } = await pair(transport, '127.0.0.1', { rtoMs: 10, timeoutMs: 300 });
      server.silent = true;
      expect(await client.binding()).toEqual({ code: 0, reason: 'no answer', message: null });
      expect(server.requests).toHaveLength(1);
    });
  }

  it('keeps several transactions in flight and matches each answer to its request', async () => {
    const { client } = await pair('udp');
    const answers = await Promise.all([client.binding(), client.allocate(), client.binding()]);
    expect(answers.map((a) => a.code)).toEqual([200, 200, 200]);
    expect(relayedAddress(answers[1]!)).toEqual(RELAY);
  });

  it('answers waiting transactions with code 0 when the client closes', async () => {
    const { server, client } = await pair('udp');
    server.silent = true;
    const waiting = client.binding();
    await client.close();
    expect(await waiting).toEqual({ code: 0, reason: 'closed', message: null });
    expect((await client.binding()).reason).toBe('closed');
  });

  it('marks a stream closed by the server, and ends its waiting transactions', async () => {
    const { server, client } = await pair('tcp', '127.0.0.1', { timeoutMs: 5000 });
    server.silent = true;
    const waiting = client.binding();
    await expect.poll(() => server.requests.length).toBe(1);
    server.hangUp();
    await client.waitClosed(2000);
    expect((await waiting).reason).toBe('closed');
  });
});

describe('TurnClient stream framing', () => {
  for (const transport of ['tcp', 'tls'] as const) {
    it(`${transport}: reassembles responses the server writes three bytes at a time`, async () => {
      const { server, client } = await pair(transport);
      server.mode = 'bytewise';
      const allocated = await client.allocate();
      expect(allocated.code).toBe(200);
      expect(relayedAddress(allocated)).toEqual(RELAY);
      expect(client.inbox).toEqual([]);
    });

    it(`${transport}: splits one write holding padded ChannelData, a response and a Data indication`, async () => {
      const { server, client } = await pair(transport);
      server.mode = 'merged';
      expect((await client.binding()).code).toBe(200);
      expect(client.relayedIn).toBe(2);
      expect(client.inbox).toHaveLength(2);
      const channel = await client.receiveRelayed((r) => r.kind === 'channel-data');
      expect(channel).toEqual({ kind: 'channel-data', channel: 0x4001, data: Buffer.from('odd') });
      const indication = await client.receiveRelayed();
      expect(indication).toEqual({ kind: 'data-indication', peer: PEER, data: Buffer.from('by indication') });
      expect(client.inbox).toEqual([]);
    });
  }

  it('pads ChannelData to a multiple of 4 on streams and not over UDP', async () => {
    const onWire: Record<string, number> = {};
    for (const transport of ['udp', 'tcp'] as const) {
      const { server, client } = await pair(transport);
      client.channelData(0x4002, Buffer.from('hello'));
      onWire[transport] = client.bytesOut;
      client.sendIndication(PEER, Buffer.from('x'));
      await expect.poll(() => server.other.length).toBe(2);
      // The server's deframer hands over the frame without its padding.
      expect(server.other[0]).toEqual(encodeChannelData(0x4002, Buffer.from('hello')));
      const indication = decodeMessage(server.other[1]!);
      expect(indication.ok && indication.message.method).toBe(Method.Send);
    }
    expect(onWire).toEqual({ udp: 9, tcp: 12 });
  });

  it('counts the bytes it sends and receives, and sends raw bytes as they are', async () => {
    const { server, client } = await pair('tcp');
    const half = new MessageBuilder(StunClass.Request, Method.Binding, newTransactionId()).build();
    client.send(half.subarray(0, 7));
    client.send(half.subarray(7));
    await expect.poll(() => server.requests.length).toBe(1);
    expect(client.bytesOut).toBe(half.length);
    await expect.poll(() => client.inbox.length).toBe(1);
    expect(client.bytesIn).toBe(client.inbox[0]!.length);
  });
});
