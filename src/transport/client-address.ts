import type { TransportAddress } from '../stun/index.js';

const MAPPED_PREFIX = '::ffff:';

/**
 * The TURN view of a socket's remote address: an IPv4 client seen on a dual-stack IPv6 socket
 * arrives as ::ffff:a.b.c.d, and TURN speaks of it as IPv4 (its XOR-MAPPED-ADDRESS, its nonce).
 */
export function clientAddressOf(address: string, family: string, port: number): TransportAddress {
  if (family === 'IPv6' && address.startsWith(MAPPED_PREFIX) && address.includes('.')) {
    return { family: 'IPv4', address: address.slice(MAPPED_PREFIX.length), port };
  }
  return { family: family === 'IPv6' ? 'IPv6' : 'IPv4', address, port };
}
