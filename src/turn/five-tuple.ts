import type { TransportAddress } from '../stun/index.js';

/** The transport protocol between client and server, RFC 8656 section 2 ("5-tuple"). */
export type ClientTransport = 'udp' | 'tcp' | 'tls';

/**
 * The 5-tuple of RFC 8656 section 2: client address, server (listening) address and transport.
 * An allocation is identified by its 5-tuple (section 6). Immutable; `key` is computed once so
 * map lookups on the data path do not build strings.
 */
export class FiveTuple {
  readonly client: TransportAddress;
  readonly server: TransportAddress;
  /** Unique text of the whole tuple, used as a map key. */
  readonly key: string;
  /** The client's side alone ("udp:1.2.3.4:5555"): what a stateless nonce is bound to. */
  readonly clientKey: string;
  /** The server's side alone ("udp:0.0.0.0:3478"): which listener the tuple belongs to. */
  readonly serverKey: string;

  constructor(
    readonly transport: ClientTransport,
    client: TransportAddress,
    server: TransportAddress,
  ) {
    // Copies, so a caller may pass dgram's per-packet rinfo object.
    this.client = { family: client.family, address: client.address, port: client.port };
    this.server = { family: server.family, address: server.address, port: server.port };
    this.clientKey = `${transport}:${client.address}:${client.port}`;
    this.serverKey = `${transport}:${server.address}:${server.port}`;
    this.key = `${this.clientKey}>${server.address}:${server.port}`;
  }
}
