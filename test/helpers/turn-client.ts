// A small TURN client over UDP for tests: long-term auth (401 then retry), Allocate, Refresh,
// CreatePermission, ChannelBind, Send, ChannelData, Binding. Not a general client: no
// retransmissions (loopback), one request at a time.
import dgram from 'node:dgram';
import {
  Attr,
  decodeMessage,
  getAttribute,
  MessageBuilder,
  Method,
  newTransactionId,
  Protocol,
  readErrorCode,
  readUint32,
  readXorAddress,
  StunClass,
  type StunMessage,
  type TransportAddress,
} from '../../src/stun/index.js';
import { type AttributeWriter, LongTermAuth } from './turn-auth.js';

/** A decoded response with the fields tests look at. */
export interface TestResponse {
  message: StunMessage;
  /** 200 on success, else the ERROR-CODE. */
  code: number;
  raw: Buffer;
}

export type { AttributeWriter };

/** A TURN client bound to an ephemeral loopback port. */
export class TestTurnClient {
  readonly socket: dgram.Socket;
  readonly #server: TransportAddress;
  readonly #auth: LongTermAuth;
  /** Datagrams that were not responses to the current request (Data indications, ChannelData). */
  readonly inbox: Buffer[] = [];
  #waiter: ((data: Buffer) => boolean) | null = null;

  private constructor(
    socket: dgram.Socket,
    server: TransportAddress,
    readonly username: string,
    readonly password: string,
  ) {
    this.socket = socket;
    this.#server = server;
    this.#auth = new LongTermAuth(username, password);
    socket.on('message', (data) => {
      if (this.#waiter?.(data) === true) return;
      this.inbox.push(data);
    });
  }

  static async open(server: TransportAddress, username: string, password: string): Promise<TestTurnClient> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
    return new TestTurnClient(socket, server, username, password);
  }

  get address(): TransportAddress {
    const a = this.socket.address();
    return { family: 'IPv4', address: a.address, port: a.port };
  }

  send(data: Buffer | Buffer[]): void {
    this.socket.send(data, this.#server.port, this.#server.address);
  }

  /** Sends a request built by `write` and waits for its response (no authentication). */
  async raw(
    method: number,
    write: AttributeWriter = () => {},
    options: { sign?: boolean; fingerprint?: boolean } = {},
  ): Promise<TestResponse> {
    const { bytes, tid } = this.#auth.build(method, write, options);
    return this.exchange(bytes, tid);
  }

  /** Sends `bytes` (a request with transaction id `tid`) and waits for the response. */
  exchange(bytes: Buffer, tid: Buffer, timeoutMs = 2000): Promise<TestResponse> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiter = null;
        reject(new Error('no response'));
      }, timeoutMs);
      this.#waiter = (data) => {
        const decoded = decodeMessage(data);
        if (!decoded.ok || !decoded.message.transactionId.equals(tid)) return false;
        clearTimeout(timer);
        this.#waiter = null;
        resolve(toResponse(decoded.message, data));
        return true;
      };
      this.send(bytes);
    });
  }

  /** A request with long-term auth: the first attempt learns REALM/NONCE from 401 or 438. */
  request(method: number, write: AttributeWriter = () => {}): Promise<TestResponse> {
    return this.#auth.withChallenge(() => this.raw(method, write, { sign: true }));
  }

  allocate(write: AttributeWriter = () => {}): Promise<TestResponse> {
    return this.request(Method.Allocate, (b) => {
      b.addRequestedTransport(Protocol.UDP);
      write(b);
    });
  }

  refresh(lifetime?: number): Promise<TestResponse> {
    return this.request(Method.Refresh, (b) => {
      if (lifetime !== undefined) b.addUint32(Attr.LIFETIME, lifetime);
    });
  }

  createPermission(...peers: TransportAddress[]): Promise<TestResponse> {
    return this.request(Method.CreatePermission, (b) => {
      for (const peer of peers) b.addXorAddress(Attr.XOR_PEER_ADDRESS, peer);
    });
  }

  channelBind(channel: number, peer: TransportAddress): Promise<TestResponse> {
    return this.request(Method.ChannelBind, (b) => {
      const value = Buffer.alloc(4);
      value.writeUInt16BE(channel, 0);
      b.add(Attr.CHANNEL_NUMBER, value).addXorAddress(Attr.XOR_PEER_ADDRESS, peer);
    });
  }

  binding(): Promise<TestResponse> {
    return this.raw(Method.Binding);
  }

  /** A Send indication to `peer`. */
  sendIndication(peer: TransportAddress, data: Buffer): void {
    const bytes = new MessageBuilder(StunClass.Indication, Method.Send, newTransactionId())
      .addXorAddress(Attr.XOR_PEER_ADDRESS, peer)
      .add(Attr.DATA, data)
      .build();
    this.send(bytes);
  }

  /** Waits until the inbox holds a datagram `match` accepts, and takes it out. */
  async receive(match: (data: Buffer) => boolean, timeoutMs = 2000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.inbox.findIndex(match);
      if (index >= 0) return this.inbox.splice(index, 1)[0]!;
      if (Date.now() > deadline) throw new Error('nothing received');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

/** A decoded response. */
export function toResponse(message: StunMessage, raw: Buffer): TestResponse {
  const error = getAttribute(message, Attr.ERROR_CODE);
  const code =
    message.cls === StunClass.ErrorResponse && error ? (readErrorCode(error.value)?.code ?? 0) : 200;
  return { message, code, raw };
}

/** XOR-RELAYED-ADDRESS of an Allocate success response. */
export function relayedAddress(response: TestResponse): TransportAddress {
  const attr = getAttribute(response.message, Attr.XOR_RELAYED_ADDRESS);
  const address = attr ? readXorAddress(attr.value, response.message.transactionId) : null;
  if (address === null) throw new Error('no XOR-RELAYED-ADDRESS');
  return address;
}

/** LIFETIME of a response. */
export function lifetimeOf(response: TestResponse): number | null {
  const attr = getAttribute(response.message, Attr.LIFETIME);
  return attr ? readUint32(attr.value) : null;
}
