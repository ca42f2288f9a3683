import type { RemoteInfo } from 'node:dgram';
import type { TransportAddress } from '../stun/index.js';
import { FiveTuple } from '../turn/index.js';
import { clientAddressOf } from './client-address.js';

/** Most tuples one listener remembers before starting over (a flood of sources cannot grow it). */
export const MAX_CACHED_TUPLES = 65_536;

/**
 * The FiveTuple of each UDP client of one listener, so a packet from a known client costs two map
 * lookups by values dgram already made (its address string and port number) and no new object.
 * The listener forgets a tuple when its allocation ends; clients that never got one (a Binding, a
 * challenged Allocate) stay until the cache is full and is simply cleared: tuples are values, and
 * a new one with the same key finds the same allocation.
 */
export class ClientTuples {
  readonly #byIp = new Map<string, Map<number, FiveTuple>>();
  #count = 0;

  constructor(readonly server: TransportAddress) {}

  /** The tuple of a datagram from `from`. */
  tupleFor(from: RemoteInfo): FiveTuple {
    const known = this.#byIp.get(from.address)?.get(from.port);
    if (known !== undefined) return known;
    if (this.#count >= MAX_CACHED_TUPLES) this.#clear();
    let byPort = this.#byIp.get(from.address);
    if (byPort === undefined) {
      byPort = new Map();
      this.#byIp.set(from.address, byPort);
    }
    const tuple = new FiveTuple('udp', clientAddressOf(from.address, from.family, from.port), this.server);
    byPort.set(from.port, tuple);
    this.#count++;
    return tuple;
  }

  /**
   * Forgets the tuple of `client` (once its allocation ended), so per-client state lasts as long
   * as the allocation. `client` is the tuple's TURN view: an IPv4 client of a dual-stack socket is
   * found under the ::ffff: text dgram reported. True when no tuple of that address is left.
   */
  forget(client: TransportAddress): boolean {
    const address =
      this.server.family === 'IPv6' && client.family === 'IPv4' ? `::ffff:${client.address}` : client.address;
    const byPort = this.#byIp.get(address);
    if (byPort === undefined) return true;
    if (byPort.delete(client.port)) this.#count--;
    if (byPort.size > 0) return false;
    this.#byIp.delete(address);
    return true;
  }

  get size(): number {
    return this.#count;
  }

  #clear(): void {
    this.#byIp.clear();
    this.#count = 0;
  }
}
