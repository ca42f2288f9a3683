import { isIP } from 'node:net';
import type { TransportAddress } from '../stun/index.js';
import { TransportError } from './errors.js';

/** The family of an IP literal; throws TransportError naming `what` when it is not one. */
export function familyOf(ip: string, what: string): TransportAddress['family'] {
  const version = isIP(ip);
  if (version === 4) return 'IPv4';
  if (version === 6) return 'IPv6';
  throw new TransportError('ICEGATE_TRANSPORT_BAD_OPTION', `${what} is not an IP address: ${ip}`);
}

/** The dgram socket type for a family. */
export function socketTypeOf(family: TransportAddress['family']): 'udp4' | 'udp6' {
  return family === 'IPv4' ? 'udp4' : 'udp6';
}
