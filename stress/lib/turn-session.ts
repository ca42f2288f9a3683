// A TURN client for the security suites, over UDP, TCP or TLS, that any RFC 8656 server answers
// (icegate and coturn alike): long-term auth with a 401 round trip, Allocate for either family,
// CreatePermission, ChannelBind, Send indications and ChannelData, with several requests in
// flight, byte counters for amplification figures, and optional UDP retransmissions.
import dgram from 'node:dgram';
import net from 'node:net';
import tls from 'node:tls';
import {
  Attr,
  decodeMessage,
  encodeChannelData,
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
import { type BuiltRequest, LongTermAuth } from '../../test/helpers/turn-auth.js';

/** How the client reaches the server. */
export type SessionTransport = 'udp' | 'tcp' | 'tls';

/** Options of TurnSession.open. */
export interface TurnSessionOptions {
  host: string;
  port: number;
  transport: SessionTransport;
  username: string;
  password: string;
  /** Local address to bind (UDP) or connect from (TCP/TLS); by default the loopback of the host's family. */
  localAddress?: string;
  /** Per-request timeout, ms (default 2000). */
  timeoutMs?: number;
  /** UDP retransmissions of an unanswered request (default 0: loopback loses nothing). */
  retransmits?: number;
}

/** An answer to a request. */
export interface SessionResponse {
  /** 200 for success, the ERROR-CODE otherwise, 0 for no answer. */
  code: number;
  reason: string;
  message: StunMessage | null;
}

/** Requests run by methods that also take attributes. */
export type Attributes = (builder: MessageBuilder) => void;

/** A TURN client session (one 5-tuple). */
export class TurnSession {
  /** Bytes the client sent and received (STUN and ChannelData, UDP payloads or stream bytes). */
  bytesOut = 0;
  bytesIn = 0;
  /** Data indications and ChannelData messages received (relayed peer data). */
  relayedIn = 0;
  readonly #options: TurnSessionOptions;
  readonly #pending = new Map<string, (message: StunMessage) => void>();
  readonly #write: (data: Buffer) => void;
  readonly #close: () => Promise<void>;
  readonly #auth: LongTermAuth;
  /** Set once the transport failed or closed. */
  closed = false;

  private constructor(
    options: TurnSessionOptions,
    write: (data: Buffer) => void,
    close: () => Promise<void>,
  ) {
    this.#options = options;
    this.#write = write;
    this.#close = close;
    this.#auth = new LongTermAuth(options.username, options.password);
  }

  /** Connects (TCP/TLS) or binds (UDP) and returns the session. */
  static async open(options: TurnSessionOptions): Promise<TurnSession> {
    const v6 = options.host.includes(':');
    const local = options.localAddress ?? (v6 ? '::1' : '127.0.0.1');
    if (options.transport === 'udp') {
      const socket = dgram.createSocket(v6 ? 'udp6' : 'udp4');
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind(0, local, () => {
          socket.off('error', reject);
          resolve();
        });
      });
      socket.on('error', () => undefined);
      const session: TurnSession = new TurnSession(
        options,
        (data) => socket.send(data, options.port, options.host),
        () =>
          new Promise<void>((resolve) => {
            try {
              socket.close(() => resolve());
            } catch {
              resolve();
            }
          }),
      );
      socket.on('message', (data: Buffer) => session.#receive(data));
      return session;
    }
    const stream = await connectStream(options, local);
    const deframer = new StreamDeframer();
    const session: TurnSession = new TurnSession(
      options,
      (data) => {
        if (!stream.destroyed) stream.write(data);
      },
      () =>
        new Promise<void>((resolve) => {
          if (stream.destroyed) {
            resolve();
            return;
          }
          stream.once('close', () => resolve());
          stream.destroy();
        }),
    );
    stream.on('data', (chunk: Buffer) => {
      session.bytesIn += chunk.length;
      for (const frame of deframer.push(chunk)) session.#frame(frame.data);
    });
    stream.on('close', () => {
      session.closed = true;
    });
    stream.on('error', () => undefined);
    return session;
  }

  /** What signs this session's requests, once a 401 taught REALM and NONCE. */
  get signer(): { username: string; realm: string; nonce: string; key: Buffer } | null {
    return this.#auth.signer;
  }

  /** Sends raw bytes (counted). */
  sendRaw(data: Buffer): void {
    this.bytesOut += data.length;
    this.#write(data);
  }

  /** One request, signed once REALM and NONCE are known; a 401 or 438 teaches them and is retried once. */
  request(method: number, write: Attributes = () => {}): Promise<SessionResponse> {
    return this.#auth.withChallenge(() => this.#once(method, write));
  }

  /** One unsigned request (no retry), e.g. the unauthenticated Allocate of a flood. */
  unsigned(method: number, write: Attributes = () => {}): Promise<SessionResponse> {
    return this.#exchange(this.#auth.build(method, write, { sign: false }));
  }

  /** Allocate for UDP relaying; `family` adds REQUESTED-ADDRESS-FAMILY. */
  allocate(family?: TransportAddress['family'], lifetime?: number): Promise<SessionResponse> {
    return this.request(Method.Allocate, (b) => {
      b.addRequestedTransport(Protocol.UDP);
      if (family !== undefined) b.addAddressFamily(Attr.REQUESTED_ADDRESS_FAMILY, family);
      if (lifetime !== undefined) b.addUint32(Attr.LIFETIME, lifetime);
    });
  }

  refresh(lifetime: number): Promise<SessionResponse> {
    return this.request(Method.Refresh, (b) => b.addUint32(Attr.LIFETIME, lifetime));
  }

  createPermission(...peers: TransportAddress[]): Promise<SessionResponse> {
    return this.request(Method.CreatePermission, (b) => {
      for (const peer of peers) b.addXorAddress(Attr.XOR_PEER_ADDRESS, peer);
    });
  }

  channelBind(channel: number, peer: TransportAddress): Promise<SessionResponse> {
    return this.request(Method.ChannelBind, (b) => {
      const value = Buffer.alloc(4);
      value.writeUInt16BE(channel, 0);
      b.add(Attr.CHANNEL_NUMBER, value).addXorAddress(Attr.XOR_PEER_ADDRESS, peer);
    });
  }

  /** A Send indication (RFC 8656 section 11.1); nothing answers it. */
  sendIndication(peer: TransportAddress, data: Buffer): void {
    const bytes = new MessageBuilder(StunClass.Indication, Method.Send, newTransactionId())
      .addXorAddress(Attr.XOR_PEER_ADDRESS, peer)
      .add(Attr.DATA, data)
      .build();
    this.sendRaw(bytes);
  }

  /** A ChannelData message (padded on streams, RFC 8656 section 12.5). */
  channelData(channel: number, data: Buffer): void {
    this.sendRaw(encodeChannelData(channel, data, this.#options.transport !== 'udp'));
  }

  close(): Promise<void> {
    this.closed = true;
    for (const resolve of this.#pending.values()) resolve(NO_ANSWER_MESSAGE);
    this.#pending.clear();
    return this.#close();
  }

  #once(method: number, write: Attributes): Promise<SessionResponse> {
    return this.#exchange(this.#auth.build(method, write, { sign: true }));
  }

  #exchange({ bytes, tid }: BuiltRequest): Promise<SessionResponse> {
    const key = tid.toString('hex');
    const timeoutMs = this.#options.timeoutMs ?? 2000;
    const retransmits = this.#options.transport === 'udp' ? (this.#options.retransmits ?? 0) : 0;
    return new Promise((resolve) => {
      if (this.closed) {
        resolve({ code: 0, reason: 'closed', message: null });
        return;
      }
      let sends = 0;
      const send = (): void => {
        sends++;
        this.sendRaw(bytes);
      };
      const interval = timeoutMs / (retransmits + 1);
      const timer = setInterval(() => {
        if (sends <= retransmits) {
          send();
          return;
        }
        clearInterval(timer);
        this.#pending.delete(key);
        resolve({ code: 0, reason: 'no answer', message: null });
      }, interval);
      this.#pending.set(key, (message) => {
        clearInterval(timer);
        this.#pending.delete(key);
        if (message === NO_ANSWER_MESSAGE) {
          resolve({ code: 0, reason: 'closed', message: null });
          return;
        }
        resolve(toSessionResponse(message));
      });
      send();
    });
  }

  #receive(data: Buffer): void {
    this.bytesIn += data.length;
    this.#frame(data);
  }

  #frame(data: Buffer): void {
    const top = data[0] === undefined ? -1 : data[0] >> 6;
    if (top === 1) {
      this.relayedIn++;
      return;
    }
    const decoded = decodeMessage(data);
    if (!decoded.ok) return;
    const message = decoded.message;
    if (message.cls === StunClass.Indication) {
      if (message.method === Method.Data) this.relayedIn++;
      return;
    }
    this.#pending.get(message.transactionId.toString('hex'))?.(message);
  }
}

// Resolves pending requests when the session closes.
const NO_ANSWER_MESSAGE = { raw: Buffer.alloc(0) } as unknown as StunMessage;

function toSessionResponse(message: StunMessage): SessionResponse {
  if (message.cls !== StunClass.ErrorResponse) return { code: 200, reason: '', message };
  const attr = getAttribute(message, Attr.ERROR_CODE);
  const parsed = attr ? readErrorCode(attr.value) : null;
  return { code: parsed?.code ?? 0, reason: parsed?.reason ?? '', message };
}

/** XOR-RELAYED-ADDRESS of an Allocate success. */
export function relayedAddressOf(response: SessionResponse): TransportAddress | null {
  const message = response.message;
  if (message === null) return null;
  const attr = getAttribute(message, Attr.XOR_RELAYED_ADDRESS);
  return attr ? readXorAddress(attr.value, message.transactionId) : null;
}

function connectStream(options: TurnSessionOptions, local: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    if (options.transport === 'tls') {
      const socket = tls.connect({
        socket: net.connect({ host: options.host, port: options.port, localAddress: local }),
        rejectUnauthorized: false,
        servername: 'localhost',
      });
      socket.once('error', onError);
      socket.once('secureConnect', () => {
        socket.off('error', onError);
        resolve(socket);
      });
      return;
    }
    const socket = net.connect({ host: options.host, port: options.port, localAddress: local });
    socket.once('error', onError);
    socket.once('connect', () => {
      socket.off('error', onError);
      socket.setNoDelay(true);
      resolve(socket);
    });
  });
}
