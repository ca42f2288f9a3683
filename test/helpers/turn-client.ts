// The one TURN client of the tests and the stress suites, over UDP, TCP or TLS and either address
// family, against icegate or coturn. Transactions (several may be in flight) are retransmitted over
// UDP as RFC 8489 section 6.2.1 says and sent once over streams (section 6.2.2); long-term auth is
// turn-auth.ts's 401/438 round trip; streams are framed as RFC 8656 section 12.6 says. Frames that
// answer no transaction (Data indications, ChannelData, late or stray responses) wait in `inbox`;
// `send` is the escape hatch for bytes built by hand.
import dgram from 'node:dgram';
import net from 'node:net';
import tls from 'node:tls';
import {
  Attr,
  decodeMessage,
  getAttribute,
  MessageBuilder,
  Method,
  newTransactionId,
  Protocol,
  readErrorCode,
  readXorAddress,
  StreamDeframer,
  StunClass,
  type StunMessage,
  type TransportAddress,
} from '../../src/stun/index.js';
import { type AttributeWriter, type BuiltRequest, LongTermAuth } from './turn-auth.js';

export type { AttributeWriter, BuiltRequest };

/** How the client reaches the server. */
export type TurnTransport = 'udp' | 'tcp' | 'tls';

/** Options of TurnClient.open. A TransportAddress and a credential can be spread into it. */
export interface TurnClientOptions {
  /** The server's IP address (TLS: or a host name, also sent as SNI). */
  address: string;
  port: number;
  username: string;
  password: string;
  /** Default 'udp'. */
  transport?: TurnTransport;
  /** Where to bind (UDP; default the loopback of the server's family) or connect from (streams). */
  localAddress?: string;
  /** TLS: the certificate to trust (PEM); without it the server's certificate is not verified. */
  ca?: Buffer;
  /** How long a transaction waits for its answer, ms (default 3000). */
  timeoutMs?: number;
  /** UDP: the first retransmission timeout, RTO, ms (default 500, RFC 8489 section 6.2.1). */
  rtoMs?: number;
  /** Most frames `inbox` keeps; later ones are counted and dropped (default: no limit). */
  inboxLimit?: number;
}

/** The answer to a request. */
export interface TurnResponse {
  /** 200 for a success response, the ERROR-CODE of an error response, 0 when nothing answered. */
  code: number;
  /** The error's reason phrase; 'no answer' or 'closed' when nothing answered; '' on success. */
  reason: string;
  /** The response; null when nothing answered. */
  message: StunMessage | null;
}

/** Relayed data the client received: a Data indication (with its peer) or ChannelData. */
export type RelayedData =
  | { kind: 'data-indication'; peer: TransportAddress | null; data: Buffer }
  | { kind: 'channel-data'; channel: number; data: Buffer };

// RFC 8489 section 6.2.1: Rc transmissions at most; after the last, Rm times the first RTO.
const RC = 7;
const RM = 16;

/** A TURN client on one 5-tuple. */
export class TurnClient {
  /** Frames that answered no transaction, oldest first; tests may read, filter and empty it. */
  readonly inbox: Buffer[] = [];
  /** Bytes sent and received: UDP payloads, or stream bytes (TLS: the plaintext). */
  bytesOut = 0;
  bytesIn = 0;
  /** Data indications and ChannelData messages received (kept in `inbox` or not). */
  relayedIn = 0;
  /** Set once close() was called or the server closed the stream. */
  closed = false;
  readonly #auth: LongTermAuth;
  readonly #pending = new Map<string, (message: StunMessage | null) => void>();
  readonly #timeoutMs: number;
  readonly #rtoMs: number;
  readonly #inboxLimit: number;

  private constructor(
    readonly options: TurnClientOptions,
    readonly transport: TurnTransport,
    readonly socket: dgram.Socket | net.Socket,
  ) {
    this.#auth = new LongTermAuth(options.username, options.password);
    this.#timeoutMs = options.timeoutMs ?? 3000;
    this.#rtoMs = options.rtoMs ?? 500;
    this.#inboxLimit = options.inboxLimit ?? Number.POSITIVE_INFINITY;
  }

  /** Binds (UDP) or connects (TCP; TLS: once the handshake is done) and returns the client. */
  static async open(options: TurnClientOptions): Promise<TurnClient> {
    const transport = options.transport ?? 'udp';
    if (transport === 'udp') {
      const v6 = net.isIPv6(options.address);
      const local = options.localAddress ?? (v6 ? '::1' : '127.0.0.1');
      const socket = dgram.createSocket(v6 ? 'udp6' : 'udp4');
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind(0, local, () => {
          socket.off('error', reject);
          resolve();
        });
      });
      // An ICMP error on loopback must not fail a test; the transaction times out instead.
      socket.on('error', () => {});
      const client = new TurnClient(options, transport, socket);
      socket.on('message', (data: Buffer) => {
        client.bytesIn += data.length;
        client.#frame(data);
      });
      return client;
    }
    const stream = await connectStream({ ...options, transport });
    const client = new TurnClient(options, transport, stream);
    const deframer = new StreamDeframer();
    stream.on('data', (chunk: Buffer) => {
      client.bytesIn += chunk.length;
      for (const frame of deframer.push(chunk)) client.#frame(frame.data);
      if (deframer.error !== null) stream.destroy();
    });
    stream.on('error', () => {});
    stream.on('close', () => client.#ended());
    return client;
  }

  /** The client's own transport address (the server sees it as the client's). */
  get address(): TransportAddress {
    if (this.socket instanceof dgram.Socket) {
      const a = this.socket.address();
      return { family: a.family === 'IPv6' ? 'IPv6' : 'IPv4', address: a.address, port: a.port };
    }
    const family = this.socket.localFamily === 'IPv6' ? 'IPv6' : 'IPv4';
    return { family, address: this.socket.localAddress ?? '', port: this.socket.localPort ?? 0 };
  }

  /** The stream socket (pause it to stop reading); throws on UDP. */
  get stream(): net.Socket {
    if (this.socket instanceof dgram.Socket) throw new Error('a UDP client has no stream');
    return this.socket;
  }

  /** What signs requests, once a 401 taught REALM and NONCE; null before. */
  get signer(): LongTermAuth['signer'] {
    return this.#auth.signer;
  }

  /** Sends bytes as they are: a datagram (an array: one datagram of them all) or stream bytes. */
  send(data: Buffer | Buffer[]): void {
    const parts = Array.isArray(data) ? data : [data];
    for (const part of parts) this.bytesOut += part.length;
    if (this.socket instanceof dgram.Socket) {
      if (!this.closed) this.socket.send(parts, this.options.port, this.options.address);
    } else if (!this.socket.destroyed) {
      for (const part of parts) this.socket.write(part);
    }
  }

  /** A request with long-term auth: signed once REALM and NONCE are known; a 401 or 438 teaches them. */
  request(method: number, write: AttributeWriter = () => {}): Promise<TurnResponse> {
    return this.#auth.withChallenge(() => this.exchange(this.#auth.build(method, write, { sign: true })));
  }

  /** A request with no credentials and no retry after a challenge. */
  unsigned(
    method: number,
    write: AttributeWriter = () => {},
    options: { fingerprint?: boolean } = {},
  ): Promise<TurnResponse> {
    return this.exchange(this.#auth.build(method, write, options));
  }

  /** Sends a request (built by hand or by turn-auth.ts) and waits for the response to its transaction id. */
  exchange({ bytes, tid }: BuiltRequest): Promise<TurnResponse> {
    const key = tid.toString('hex');
    return new Promise((resolve) => {
      if (this.closed) {
        resolve(NO_ANSWER.closed);
        return;
      }
      const deadline = Date.now() + this.#timeoutMs;
      let timer: NodeJS.Timeout | undefined;
      let sends = 0;
      let rto = this.#rtoMs;
      const finish = (response: TurnResponse): void => {
        clearTimeout(timer);
        this.#pending.delete(key);
        resolve(response);
      };
      const transmit = (): void => {
        this.send(bytes);
        sends++;
        // UDP: the next transmission follows RTO later, RTO doubling each time; Rm times the first
        // RTO after the Rc-th ends the transaction. Streams: one transmission. timeoutMs caps it all.
        const again = this.transport === 'udp' && sends < RC;
        const wait = this.transport !== 'udp' ? Number.POSITIVE_INFINITY : again ? rto : RM * this.#rtoMs;
        rto *= 2;
        const left = Math.max(deadline - Date.now(), 0);
        timer =
          again && wait < left
            ? setTimeout(transmit, wait)
            : setTimeout(() => finish(NO_ANSWER.none), Math.min(wait, left));
      };
      this.#pending.set(key, (message) => finish(message === null ? NO_ANSWER.closed : toResponse(message)));
      transmit();
    });
  }

  binding(): Promise<TurnResponse> {
    return this.unsigned(Method.Binding);
  }

  /** Allocate for UDP relaying (RFC 8656 section 7.1); `write` adds attributes. */
  allocate(write: AttributeWriter = () => {}): Promise<TurnResponse> {
    return this.request(Method.Allocate, (b) => {
      b.addRequestedTransport(Protocol.UDP);
      write(b);
    });
  }

  /** Refresh (RFC 8656 section 8), with LIFETIME when given; 0 deletes the allocation. */
  refresh(lifetime?: number): Promise<TurnResponse> {
    return this.request(Method.Refresh, (b) => {
      if (lifetime !== undefined) b.addUint32(Attr.LIFETIME, lifetime);
    });
  }

  createPermission(...peers: TransportAddress[]): Promise<TurnResponse> {
    return this.request(Method.CreatePermission, (b) => {
      for (const peer of peers) b.addXorAddress(Attr.XOR_PEER_ADDRESS, peer);
    });
  }

  channelBind(channel: number, peer: TransportAddress): Promise<TurnResponse> {
    // Written as it is, unchecked: tests bind numbers outside RFC 8656's range too.
    const value = Buffer.alloc(4);
    value.writeUInt16BE(channel, 0);
    return this.request(Method.ChannelBind, (b) =>
      b.add(Attr.CHANNEL_NUMBER, value).addXorAddress(Attr.XOR_PEER_ADDRESS, peer),
    );
  }

  /** A Send indication to `peer` (RFC 8656 section 11.1); nothing answers it. */
  sendIndication(peer: TransportAddress, data: Buffer): void {
    this.send(sendIndication(peer, data));
  }

  /** ChannelData on `channel`, padded to a multiple of 4 on streams (RFC 8656 section 12.5). */
  channelData(channel: number, data: Buffer): void {
    this.send(channelDataFrame(channel, data, this.transport !== 'udp'));
  }

  /** Waits until the inbox holds a frame `match` accepts, and takes it out. */
  async receive(match: (frame: Buffer) => boolean, timeoutMs = 2000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.inbox.findIndex(match);
      if (index >= 0) return this.inbox.splice(index, 1)[0]!;
      if (Date.now() > deadline) throw new Error(`nothing matching received in ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** Waits for relayed data (a Data indication or ChannelData) `match` accepts, and takes it out. */
  async receiveRelayed(
    match: (data: RelayedData) => boolean = () => true,
    timeoutMs = 2000,
  ): Promise<RelayedData> {
    const frame = await this.receive((f) => {
      const relayed = relayedData(f);
      return relayed !== null && match(relayed);
    }, timeoutMs);
    return relayedData(frame)!;
  }

  /** Resolves once the server has closed the stream, or rejects after `timeoutMs`. */
  async waitClosed(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error(`connection still open after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Closes the socket; transactions still waiting answer code 0, 'closed'. */
  close(): Promise<void> {
    const socket = this.socket;
    const wasClosed = this.closed;
    this.#ended();
    if (socket instanceof dgram.Socket) {
      if (wasClosed) return Promise.resolve();
      return new Promise((resolve) => socket.close(() => resolve()));
    }
    if (socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      socket.once('close', () => resolve());
      socket.destroy();
    });
  }

  #ended(): void {
    this.closed = true;
    for (const answer of [...this.#pending.values()]) answer(null);
  }

  #frame(data: Buffer): void {
    const first = data[0];
    if (first !== undefined && first >> 6 === 1) {
      this.relayedIn++;
    } else {
      const decoded = decodeMessage(data);
      if (decoded.ok) {
        const message = decoded.message;
        const isResponse =
          message.cls === StunClass.SuccessResponse || message.cls === StunClass.ErrorResponse;
        const answer = isResponse ? this.#pending.get(message.transactionId.toString('hex')) : undefined;
        if (answer !== undefined) {
          answer(message);
          return;
        }
        if (message.cls === StunClass.Indication && message.method === Method.Data) this.relayedIn++;
      }
    }
    // A stream frame is a view into a chunk; a copy keeps no chunk alive.
    if (this.inbox.length < this.#inboxLimit) this.inbox.push(Buffer.from(data));
  }
}

const NO_ANSWER = {
  none: { code: 0, reason: 'no answer', message: null },
  closed: { code: 0, reason: 'closed', message: null },
} as const satisfies Record<string, TurnResponse>;

function toResponse(message: StunMessage): TurnResponse {
  if (message.cls !== StunClass.ErrorResponse) return { code: 200, reason: '', message };
  const attr = getAttribute(message, Attr.ERROR_CODE);
  const parsed = attr ? readErrorCode(attr.value) : null;
  return { code: parsed?.code ?? 0, reason: parsed?.reason ?? '', message };
}

/** The value of attribute `type` in a response; undefined when absent or nothing answered. */
export function attributeOf(response: TurnResponse, type: number): Buffer | undefined {
  return response.message === null ? undefined : getAttribute(response.message, type)?.value;
}

/** XOR-RELAYED-ADDRESS of an Allocate success response; throws when there is none. */
export function relayedAddress(response: TurnResponse): TransportAddress {
  return xorAddressOf(response, Attr.XOR_RELAYED_ADDRESS);
}

/** XOR-MAPPED-ADDRESS of a response (Binding, Allocate); throws when there is none. */
export function mappedAddress(response: TurnResponse): TransportAddress {
  return xorAddressOf(response, Attr.XOR_MAPPED_ADDRESS);
}

function xorAddressOf(response: TurnResponse, type: number): TransportAddress {
  const value = attributeOf(response, type);
  const address = value && response.message ? readXorAddress(value, response.message.transactionId) : null;
  if (address === null)
    throw new Error(
      `no ${type === Attr.XOR_RELAYED_ADDRESS ? 'XOR-RELAYED' : 'XOR-MAPPED'}-ADDRESS (answer ${response.code} ${response.reason})`,
    );
  return address;
}

/** A Send indication to `peer` carrying `data` (RFC 8656 section 11.1). */
export function sendIndication(peer: TransportAddress, data: Buffer): Buffer {
  return new MessageBuilder(StunClass.Indication, Method.Send, newTransactionId())
    .addXorAddress(Attr.XOR_PEER_ADDRESS, peer)
    .add(Attr.DATA, data)
    .build();
}

/**
 * A ChannelData message, `padded` to a multiple of 4 for streams; the channel number is not checked
 * (tests send numbers outside 0x4000..0x4FFF as RFC 5766 clients did).
 */
export function channelDataFrame(channel: number, data: Buffer, padded = false): Buffer {
  const out = Buffer.alloc(padded ? (data.length + 7) & ~3 : data.length + 4);
  out.writeUInt16BE(channel, 0);
  out.writeUInt16BE(data.length, 2);
  data.copy(out, 4);
  return out;
}

/** The relayed data in a frame: a Data indication's DATA and peer, or a ChannelData payload; else null. */
export function relayedData(frame: Buffer): RelayedData | null {
  const first = frame[0];
  if (first !== undefined && first >> 6 === 1) {
    // Any number with the top bits 01 (not only RFC 8656's 0x4000..0x4FFF), as channelDataFrame.
    if (frame.length < 4 || frame.readUInt16BE(2) > frame.length - 4) return null;
    const data = frame.subarray(4, 4 + frame.readUInt16BE(2));
    return { kind: 'channel-data', channel: frame.readUInt16BE(0), data };
  }
  const decoded = decodeMessage(frame);
  if (!decoded.ok) return null;
  const message = decoded.message;
  if (message.cls !== StunClass.Indication || message.method !== Method.Data) return null;
  const data = getAttribute(message, Attr.DATA);
  if (data === undefined) return null;
  const peer = getAttribute(message, Attr.XOR_PEER_ADDRESS);
  return {
    kind: 'data-indication',
    peer: peer ? readXorAddress(peer.value, message.transactionId) : null,
    data: data.value,
  };
}

/** Where a raw stream connection goes. */
export interface StreamTarget {
  transport: 'tcp' | 'tls';
  address: string;
  port: number;
  localAddress?: string;
  /** TLS: the certificate to trust (PEM); without it the certificate is not verified. */
  ca?: Buffer;
}

/** Opens a TCP or TLS socket to `target` (TLS: resolved once the handshake is done). */
export function connectStream(target: StreamTarget, timeoutMs = 3000): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const tcp = { host: target.address, port: target.port, localAddress: target.localAddress };
    const socket =
      target.transport === 'tls'
        ? tls.connect({
            ...tcp,
            servername: net.isIP(target.address) === 0 ? target.address : undefined,
            ...(target.ca === undefined ? { rejectUnauthorized: false } : { ca: target.ca }),
          })
        : net.connect(tcp);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no ${target.transport} connection within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once(target.transport === 'tls' ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      socket.setNoDelay(true);
      resolve(socket);
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}
