// Drives the sans-I/O TURN core with a fake clock and a recording sink.
import { mintCredential, NonceFactory, SecretRing } from '../../../src/auth/index.js';
import { fanOutEvents } from '../../../src/composition/event-fanout.js';
import {
  Attr,
  decodeMessage,
  getAttribute,
  longTermKey,
  MessageBuilder,
  Method,
  newTransactionId,
  Protocol,
  readErrorCode,
  readText,
  StunClass,
  type StunMessage,
  type TransportAddress,
  verifyIntegrity,
} from '../../../src/stun/index.js';
import {
  type ActionSink,
  type AllocationEndReason,
  type AllocationView,
  type BoundRelay,
  FiveTuple,
  type RelayRequest,
  type TrafficCounters,
  type TurnEvents,
  type TurnLimits,
  type TurnPolicy,
  TurnServer,
} from '../../../src/turn/index.js';
import { PeerFilter } from '../../../src/turn/peer-filter/index.js';

export const REALM = 'icegate';
export const SECRET = 'core-secret';
export const SERVER: TransportAddress = { family: 'IPv4', address: '192.0.2.1', port: 3478 };
/** Start of the fake clock (2025-01-01T00:00:00Z). */
export const T0 = Date.UTC(2025, 0, 1);

/** A packet the core sent to a client. */
export interface ClientSend {
  tuple: FiveTuple;
  data: Buffer;
}

/** A packet the core sent to a peer. */
export interface PeerSend {
  relayId: number;
  peer: TransportAddress;
  data: Buffer;
}

/** Records every action; binds relays at once when `autoBind` is set. */
export class FakeSink implements ActionSink {
  readonly toClient: ClientSend[] = [];
  readonly toPeer: PeerSend[] = [];
  readonly binds: RelayRequest[] = [];
  readonly closed: number[] = [];
  /** Answer bindRelay synchronously with a fresh relay. */
  autoBind = true;
  server: TurnServer | null = null;
  #nextRelay = 100;
  #nextPort = 50_000;

  sendToClient(tuple: FiveTuple, data: Buffer | readonly Buffer[]): void {
    this.toClient.push({ tuple, data: Buffer.isBuffer(data) ? data : Buffer.concat(data) });
  }

  sendToPeer(relayId: number, peer: TransportAddress, data: Buffer, offset: number, length: number): void {
    this.toPeer.push({ relayId, peer, data: Buffer.from(data.subarray(offset, offset + length)) });
  }

  bindRelay(request: RelayRequest): void {
    this.binds.push(request);
    if (this.autoBind) this.server!.relayBound(request.ref, this.relayFor(request));
  }

  closeRelay(relayId: number): void {
    this.closed.push(relayId);
  }

  /** The relay the fake transport would open for `request`. */
  relayFor(request: RelayRequest): BoundRelay {
    let port = this.#nextPort;
    this.#nextPort += 2;
    if (request.evenPort && port % 2 === 1) port++;
    const address = request.family === 'IPv4' ? '198.51.100.7' : '2001:db8::7';
    const relay: BoundRelay = {
      relayId: this.#nextRelay++,
      address: { family: request.family, address, port },
    };
    if (request.reserveNext) {
      relay.reserved = {
        relayId: this.#nextRelay++,
        address: { family: request.family, address, port: port + 1 },
      };
    }
    return relay;
  }
}

/** Events as recorded by the harness. */
export interface EventLog {
  created: AllocationView[];
  refreshed: { allocation: AllocationView; lifetime: number }[];
  deleted: { allocation: AllocationView; reason: AllocationEndReason; durationMs: number }[];
  traffic: { allocation: AllocationView; delta: TrafficCounters }[];
  permissionDenied: { peer: TransportAddress; reason: string }[];
  authFailed: string[];
  authorizeDenied: { tenant: string; reason: string; method: string }[];
  quotaRefused: { tenant: string; load: number }[];
  answered: { method: number; code: number }[];
  dropped: string[];
}

/** Options of makeCore. */
export interface CoreOptions {
  limits?: Partial<TurnLimits>;
  policy?: Partial<TurnPolicy>;
  secrets?: string[];
  relayFamilies?: TransportAddress['family'][];
  software?: string;
  /** More observers of the core's events (e.g. the composition root's RelayObserver). */
  extraEvents?: TurnEvents;
}

/** A core under test. */
export interface Core {
  server: TurnServer;
  sink: FakeSink;
  events: EventLog;
  clock: { now: number };
  secrets: SecretRing;
  nonces: NonceFactory;
  advance(ms: number): void;
  /** A client 5-tuple (UDP by default). */
  tuple(port?: number, transport?: 'udp' | 'tcp'): FiveTuple;
  /** A client with a REST credential for `tenant` minted with `secret` (default SECRET). */
  client(tenant?: string, options?: { port?: number; secret?: string; ttlSeconds?: number }): CoreClient;
}

/** A core with loopback peers allowed and everything else at defaults. */
export function makeCore(options: CoreOptions = {}): Core {
  const clock = { now: T0 };
  const sink = new FakeSink();
  const secrets = new SecretRing(options.secrets ?? [SECRET]);
  const nonces = new NonceFactory(Buffer.alloc(32, 7));
  const events: EventLog = {
    created: [],
    refreshed: [],
    deleted: [],
    traffic: [],
    permissionDenied: [],
    authFailed: [],
    authorizeDenied: [],
    quotaRefused: [],
    answered: [],
    dropped: [],
  };
  const handlers: TurnEvents = {
    allocationCreated: (allocation) => events.created.push(allocation),
    allocationRefreshed: (allocation, lifetime) => events.refreshed.push({ allocation, lifetime }),
    allocationDeleted: (allocation, reason, durationMs) =>
      events.deleted.push({ allocation, reason, durationMs }),
    trafficRelayed: (allocation, delta) => events.traffic.push({ allocation, delta }),
    permissionDenied: (peer, reason) => events.permissionDenied.push({ peer, reason }),
    authFailed: (reason) => events.authFailed.push(reason),
    authorizeDenied: (tenant, reason, method) => events.authorizeDenied.push({ tenant, reason, method }),
    quotaRefused: (tenant, load) => events.quotaRefused.push({ tenant, load }),
    requestAnswered: (method, code) => events.answered.push({ method, code }),
    packetDropped: (reason) => events.dropped.push(reason),
  };
  const filter = new PeerFilter({ allowLoopback: true });
  const server = new TurnServer({
    realm: REALM,
    software: options.software ?? 'icegate-test',
    secrets,
    nonces,
    clock: () => clock.now,
    policy: { checkPeer: (address) => filter.check(address), ...options.policy },
    events: options.extraEvents === undefined ? handlers : fanOutEvents(handlers, options.extraEvents),
    limits: options.limits ?? {},
    relayFamilies: options.relayFamilies ?? ['IPv4'],
    sink,
  });
  sink.server = server;
  let nextPort = 40_000;
  const core: Core = {
    server,
    sink,
    events,
    clock,
    secrets,
    nonces,
    advance: (ms) => {
      clock.now += ms;
    },
    tuple: (port, transport = 'udp') =>
      new FiveTuple(transport, { family: 'IPv4', address: '203.0.113.5', port: port ?? nextPort++ }, SERVER),
    client: (tenant = 'acme', opts = {}) => {
      const ring = opts.secret === undefined ? secrets : new SecretRing([opts.secret]);
      const minted = mintCredential(ring, { tenant, ttlSeconds: opts.ttlSeconds ?? 3600, now: clock.now });
      return new CoreClient(core, core.tuple(opts.port), minted.username, minted.password);
    },
  };
  return core;
}

/** A decoded response. */
export interface Response {
  message: StunMessage;
  raw: Buffer;
  /** 200 for success, else the error code. */
  code: number;
  reason: string;
}

/** Options of one request. */
export interface RequestOptions {
  /** Add USERNAME/REALM/NONCE and MESSAGE-INTEGRITY (default true once a nonce is known). */
  sign?: boolean;
  fingerprint?: boolean;
  /** Reuse a transaction id (retransmission). */
  transactionId?: Buffer;
  /** Override USERNAME / NONCE. */
  username?: string;
  nonce?: string;
  /** Sign with this key instead of the client's. */
  key?: Buffer;
}

/** A client talking to the core over one 5-tuple. */
export class CoreClient {
  nonce: string | null = null;
  lastRequest: Buffer | null = null;

  constructor(
    readonly core: Core,
    readonly tuple: FiveTuple,
    readonly username: string,
    readonly password: string,
  ) {}

  get key(): Buffer {
    return longTermKey(this.username, REALM, this.password);
  }

  /** Builds a request. */
  build(
    method: number,
    write: (b: MessageBuilder) => void,
    options: RequestOptions = {},
  ): { bytes: Buffer; tid: Buffer } {
    const tid = options.transactionId ?? newTransactionId();
    const builder = new MessageBuilder(StunClass.Request, method, tid);
    write(builder);
    const sign = options.sign ?? this.nonce !== null;
    if (sign) {
      builder
        .addText(Attr.USERNAME, options.username ?? this.username)
        .addText(Attr.REALM, REALM)
        .addText(Attr.NONCE, options.nonce ?? this.nonce ?? 'none');
    }
    const bytes = builder.build({
      ...(sign ? { integrityKey: options.key ?? this.key } : {}),
      fingerprint: options.fingerprint ?? false,
    });
    return { bytes, tid };
  }

  /** Feeds raw bytes to the core from this client's 5-tuple. */
  feed(bytes: Buffer): void {
    this.core.server.handleClientPacket(this.tuple, bytes);
  }

  /** The response to transaction `tid`, if the core has sent one (the latest). */
  responseTo(tid: Buffer): Response | undefined {
    for (let i = this.core.sink.toClient.length - 1; i >= 0; i--) {
      const sent = this.core.sink.toClient[i]!;
      if (sent.tuple.key !== this.tuple.key) continue;
      const decoded = decodeMessage(sent.data);
      if (decoded.ok && decoded.message.transactionId.equals(tid)) return decode(decoded.message, sent.data);
    }
    return undefined;
  }

  /** Sends a request and returns its response (throws if none came synchronously). */
  send(
    method: number,
    write: (b: MessageBuilder) => void = () => {},
    options: RequestOptions = {},
  ): Response {
    const { bytes, tid } = this.build(method, write, options);
    this.lastRequest = bytes;
    this.feed(bytes);
    const response = this.responseTo(tid);
    if (response === undefined) throw new Error('no response');
    return response;
  }

  /** Gets a nonce the normal way: an unsigned request answered 401. */
  challenge(): Response {
    const response = this.send(Method.Allocate, (b) => b.addRequestedTransport(Protocol.UDP), {
      sign: false,
    });
    this.learn(response);
    return response;
  }

  /** Remembers the NONCE of a 401/438. */
  learn(response: Response): void {
    const nonce = getAttribute(response.message, Attr.NONCE);
    if (nonce) this.nonce = readText(nonce.value);
  }

  /** A signed request (challenging first if no nonce is known). */
  signed(
    method: number,
    write: (b: MessageBuilder) => void = () => {},
    options: RequestOptions = {},
  ): Response {
    if (this.nonce === null) this.challenge();
    return this.send(method, write, { ...options, sign: true });
  }

  allocate(write: (b: MessageBuilder) => void = () => {}, options: RequestOptions = {}): Response {
    return this.signed(
      Method.Allocate,
      (b) => {
        b.addRequestedTransport(Protocol.UDP);
        write(b);
      },
      options,
    );
  }

  refresh(lifetime?: number): Response {
    return this.signed(Method.Refresh, (b) => {
      if (lifetime !== undefined) b.addUint32(Attr.LIFETIME, lifetime);
    });
  }

  createPermission(...peers: TransportAddress[]): Response {
    return this.signed(Method.CreatePermission, (b) => {
      for (const peer of peers) b.addXorAddress(Attr.XOR_PEER_ADDRESS, peer);
    });
  }

  channelBind(channel: number, peer: TransportAddress): Response {
    return this.signed(Method.ChannelBind, (b) => {
      const value = Buffer.alloc(4);
      value.writeUInt16BE(channel, 0);
      b.add(Attr.CHANNEL_NUMBER, value).addXorAddress(Attr.XOR_PEER_ADDRESS, peer);
    });
  }

  /** A Send indication to `peer`. */
  sendIndication(peer: TransportAddress, data: Buffer): void {
    this.feed(
      new MessageBuilder(StunClass.Indication, Method.Send, newTransactionId())
        .addXorAddress(Attr.XOR_PEER_ADDRESS, peer)
        .add(Attr.DATA, data)
        .build(),
    );
  }

  /** A ChannelData message. */
  channelData(channel: number, data: Buffer): void {
    const header = Buffer.alloc(4);
    header.writeUInt16BE(channel, 0);
    header.writeUInt16BE(data.length, 2);
    this.feed(Buffer.concat([header, data]));
  }

  /** Whether `response` carries a MESSAGE-INTEGRITY valid under this client's key. */
  verifies(response: Response): boolean {
    return response.message.integrityOffset >= 0 && verifyIntegrity(response.message, this.key);
  }
}

/** Decodes a response message. */
export function decode(message: StunMessage, raw: Buffer): Response {
  const error = getAttribute(message, Attr.ERROR_CODE);
  const parsed = error ? readErrorCode(error.value) : null;
  const code = message.cls === StunClass.ErrorResponse ? (parsed?.code ?? 0) : 200;
  return { message, raw, code, reason: parsed?.reason ?? '' };
}

/** A peer address on loopback (allowed by the test peer filter). */
export function loopbackPeer(port: number): TransportAddress {
  return { family: 'IPv4', address: '127.0.0.1', port };
}

/** The last allocation the core created. */
export function lastAllocation(core: Core): AllocationView {
  const allocation = core.events.created.at(-1);
  if (allocation === undefined) throw new Error('no allocation');
  return allocation;
}
