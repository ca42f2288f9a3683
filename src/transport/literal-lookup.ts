import type { LookupOneOptions } from 'node:dns';

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string, family: number) => void;

/**
 * A dgram `lookup` that resolves nothing: the relay only ever sends to addresses it decoded from
 * the wire or got from dgram, so every destination is already an IP literal. Answering
 * synchronously spares dns.lookup's nextTick on every datagram, and a hostname can never trigger
 * a DNS query. The address is not validated here (that was a regular expression per datagram):
 * libuv parses it with inet_pton before sending, and a send to anything that is not a literal of
 * the socket's family fails there with EINVAL and is dropped.
 */
export function literalLookup(
  hostname: string,
  options: LookupOneOptions | number,
  callback: LookupCallback,
): void {
  // dgram passes the socket's family as a number (4 for udp4, 6 for udp6).
  const family = typeof options === 'number' ? options : options.family;
  callback(null, hostname, family === 6 || family === 'IPv6' ? 6 : 4);
}
