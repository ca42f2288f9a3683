import dgram from 'node:dgram';
import { literalLookup } from './literal-lookup.js';

/** What binding a UDP port gave: the socket, 'in-use' (try another port), or a real failure. */
export type BindOutcome = dgram.Socket | 'in-use' | Error;

/**
 * Binds a UDP socket to `ip`:`port`. IPv6 relay sockets are IPv6-only, so an IPv4 peer never
 * shows up on them as ::ffff:a.b.c.d. EADDRINUSE and EACCES mean "that port is not ours to use".
 */
export function bindUdpSocket(type: 'udp4' | 'udp6', ip: string, port: number): Promise<BindOutcome> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket({ type, ipv6Only: type === 'udp6', lookup: literalLookup });
    const onError = (error: NodeJS.ErrnoException): void => {
      closeQuietly(socket);
      resolve(error.code === 'EADDRINUSE' || error.code === 'EACCES' ? 'in-use' : error);
    };
    socket.once('error', onError);
    socket.bind({ port, address: ip, exclusive: true }, () => {
      socket.off('error', onError);
      resolve(socket);
    });
  });
}

/** Closes a socket that may already be closed or never bound. */
export function closeQuietly(socket: dgram.Socket): void {
  try {
    socket.close();
  } catch {
    // Already closed.
  }
}
