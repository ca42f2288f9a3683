import dgram from 'node:dgram';
import { literalLookup } from './literal-lookup.js';

/** What binding a UDP port gave: the socket, 'in-use' (try another port), or a real failure. */
export type BindOutcome = dgram.Socket | 'in-use' | Error;

/**
 * Binds a UDP socket to `ip`:`port`. IPv6 relay sockets are IPv6-only, so an IPv4 peer never
 * shows up on them as ::ffff:a.b.c.d. EADDRINUSE and EACCES mean "that port is not ours to use".
 *
 * Synchronous: `ip` is an IP literal and the socket's lookup (literalLookup) answers at once, so
 * dgram binds (or emits the bind error) inside `bind()` itself. An Allocate's relay then costs no
 * promise and no extra event-loop turn. Should a bind ever not settle inside the call, the socket
 * is closed and an Error returned, never left half-open.
 */
export function bindUdpSocket(type: 'udp4' | 'udp6', ip: string, port: number): BindOutcome {
  const socket = dgram.createSocket({ type, ipv6Only: type === 'udp6', lookup: literalLookup });
  bindFailure = null;
  bindListening = false;
  socket.on('error', onBindError);
  socket.on('listening', onBindListening);
  try {
    socket.bind({ port, address: ip, exclusive: true });
  } catch (error) {
    bindFailure = error instanceof Error ? error : new Error(String(error));
  }
  socket.off('error', onBindError);
  socket.off('listening', onBindListening);
  const failure = bindFailure as NodeJS.ErrnoException | null;
  const listening = bindListening;
  bindFailure = null;
  if (failure !== null) {
    closeQuietly(socket);
    return failure.code === 'EADDRINUSE' || failure.code === 'EACCES' ? 'in-use' : failure;
  }
  if (!listening) {
    closeQuietly(socket);
    return new Error(`binding ${ip}:${port} did not complete synchronously`);
  }
  return socket;
}

// What the bind in progress reported. A bind settles inside bindUdpSocket's call (see above), so
// one pair of module-level handlers serves every bind, without two closures per relay socket.
let bindFailure: NodeJS.ErrnoException | null = null;
let bindListening = false;
function onBindError(error: NodeJS.ErrnoException): void {
  bindFailure = error;
}
function onBindListening(): void {
  bindListening = true;
}

/** Closes a socket that may already be closed or never bound. */
export function closeQuietly(socket: dgram.Socket): void {
  try {
    socket.close();
  } catch {
    // Already closed.
  }
}
