import type { LookupOneOptions } from 'node:dns';
import { isIP } from 'node:net';

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string, family: number) => void;

/**
 * A dgram `lookup` for IP literals only. The relay only ever sends to addresses it decoded from
 * the wire or got from dgram, so there is nothing to resolve; answering synchronously spares
 * dns.lookup's nextTick on every datagram, and a hostname can never trigger a DNS query.
 */
export function literalLookup(
  hostname: string,
  _options: LookupOneOptions | number,
  callback: LookupCallback,
): void {
  const family = isIP(hostname);
  if (family === 0) {
    const error: NodeJS.ErrnoException = new Error(`not an IP address: ${hostname}`);
    error.code = 'EINVAL';
    callback(error, '', 0);
    return;
  }
  callback(null, hostname, family);
}
