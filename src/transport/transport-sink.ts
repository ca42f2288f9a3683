import type { TransportAddress } from '../stun/index.js';
import type { ActionSink, FiveTuple, RelayRequest } from '../turn/index.js';
import type { RelayPool } from './relay-pool.js';
import type { ClientLink } from './udp-listener.js';

/**
 * The core's ActionSink over real sockets: client sends go to the listener of the tuple (UDP,
 * by FiveTuple.serverKey) or to the tuple's own connection (TCP/TLS, by FiveTuple.key); relay
 * actions go to the RelayPool.
 */
export class TransportSink implements ActionSink {
  readonly #datagramLinks = new Map<string, ClientLink>();
  readonly #streamLinks = new Map<string, ClientLink>();

  constructor(readonly relays: RelayPool) {}

  /** Routes the clients of a datagram listener. */
  addDatagramLink(serverKey: string, link: ClientLink): void {
    this.#datagramLinks.set(serverKey, link);
  }

  removeDatagramLink(serverKey: string): void {
    this.#datagramLinks.delete(serverKey);
  }

  /** Routes one stream connection (TCP/TLS). */
  addStreamLink(tuple: FiveTuple, link: ClientLink): void {
    this.#streamLinks.set(tuple.key, link);
  }

  removeStreamLink(tuple: FiveTuple): void {
    this.#streamLinks.delete(tuple.key);
  }

  sendToClient(tuple: FiveTuple, data: Buffer | readonly Buffer[]): void {
    const link =
      tuple.transport === 'udp' ? this.#datagramLinks.get(tuple.serverKey) : this.#streamLinks.get(tuple.key);
    link?.send(tuple.client, data);
  }

  sendToPeer(relayId: number, peer: TransportAddress, data: Buffer, offset: number, length: number): void {
    this.relays.send(relayId, peer, data, offset, length);
  }

  bindRelay(request: RelayRequest): void {
    this.relays.bind(request);
  }

  closeRelay(relayId: number): void {
    this.relays.close(relayId);
  }
}
