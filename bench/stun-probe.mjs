// Readiness of a STUN/TURN server, the same test for every server: it answers a Binding request
// (RFC 8489 §3) on its UDP port.
import { createSocket } from 'node:dgram';
import { buildMessage, isStun, MessageClass, Method, newTransactionId } from './stun-wire.mjs';

/** Resolves true once `host:port` answers a Binding request, false after `timeoutMs`. */
export function waitForStun(host, port, timeoutMs = 15_000) {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    const request = buildMessage(Method.binding | MessageClass.request, newTransactionId(), []);
    let done = false;
    const finish = (ok) => {
      if (done) return;
      done = true;
      clearInterval(ticker);
      clearTimeout(deadline);
      socket.close();
      resolve(ok);
    };
    socket.on('message', (msg) => {
      if (isStun(msg)) finish(true);
    });
    // ICMP port unreachable surfaces as ECONNREFUSED on some paths; keep asking until the deadline.
    socket.on('error', () => {});
    const send = () => socket.send(request, port, host, () => {});
    const ticker = setInterval(send, 200);
    const deadline = setTimeout(() => finish(false), timeoutMs);
    socket.bind(0, '127.0.0.1', send);
  });
}
