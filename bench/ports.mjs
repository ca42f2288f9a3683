// Listening ports for the benchmark's servers and peers, taken from 40000-41000 (away from the
// ports the tests use) and checked free on 127.0.0.1 for both UDP and TCP before use. Relay
// ports live in 42000-59000; the servers pick inside that range themselves.
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

/** The listening range. */
export const LISTEN_RANGE = Object.freeze({ min: 40000, max: 41000 });
/** The relay range every server is configured with (17,001 ports: room for 10,000 allocations). */
export const RELAY_RANGE = Object.freeze({ min: 42000, max: 59000 });

let next = LISTEN_RANGE.min + (process.pid % 50) * 10;

function udpFree(port) {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.once('error', () => {
      socket.close();
      resolve(false);
    });
    socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
  });
}

function tcpFree(port) {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * Returns the first port p (moving forward through the range, wrapping) such that p .. p+span-1
 * are all free for UDP and TCP. Ports handed out are not handed out again in this run.
 */
export async function takeFreePort(span = 2) {
  const size = LISTEN_RANGE.max - LISTEN_RANGE.min + 1;
  for (let tries = 0; tries < size; tries += 1) {
    if (next + span - 1 > LISTEN_RANGE.max) next = LISTEN_RANGE.min;
    const port = next;
    next += span;
    let ok = true;
    for (let p = port; p < port + span && ok; p += 1) ok = (await udpFree(p)) && (await tcpFree(p));
    if (ok) return port;
  }
  throw new Error(`no free port span of ${span} in ${LISTEN_RANGE.min}-${LISTEN_RANGE.max}`);
}
