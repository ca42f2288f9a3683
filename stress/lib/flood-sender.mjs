// A UDP flood of unauthenticated STUN requests, run as a child process so the server's memory
// figures do not include the sender's: `sockets` client sockets on 127.0.0.1 send `total`
// requests (each with a fresh transaction id) to host:port, keeping at most `window` unanswered
// (unanswered ones are written off after `writeOffMs`), and report what went out and came back.
// Usage (IPC): fork(file, [JSON.stringify({ host, port, sockets, total, window, method, writeOffMs, ratePerSecond })]).
import { randomFillSync } from 'node:crypto';
import dgram from 'node:dgram';

const options = JSON.parse(process.argv[2] ?? '{}');
const { host, port, sockets: socketCount = 1, total = 1000, window = 500, writeOffMs = 200 } = options;
// 0x0001 Binding, 0x0003 Allocate; a bare 20-byte header is the smallest request an amplifier sees.
const type = options.method === 'binding' ? 0x0001 : 0x0003;
const ratePerSecond = options.ratePerSecond ?? 0;

const sockets = [];
let received = 0;
let bytesIn = 0;
for (let i = 0; i < socketCount; i++) {
  const socket = dgram.createSocket('udp4');
  await new Promise((resolve) => socket.bind(0, '127.0.0.1', resolve));
  socket.on('message', (data) => {
    received++;
    bytesIn += data.length;
  });
  socket.on('error', () => {});
  sockets.push(socket);
}

const request = Buffer.alloc(20);
request.writeUInt16BE(type, 0);
request.writeUInt16BE(0, 2);
request.writeUInt32BE(0x2112a442, 4);

let sent = 0;
let bytesOut = 0;
let writtenOff = 0;
const started = performance.now();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

while (sent < total) {
  // Pace to ratePerSecond when given, else as fast as the window allows.
  if (ratePerSecond > 0) {
    const due = ((performance.now() - started) / 1000) * ratePerSecond;
    if (sent >= due) {
      await sleep(1);
      continue;
    }
  }
  const burst = Math.min(64, total - sent);
  for (let i = 0; i < burst; i++) {
    const data = Buffer.from(request);
    randomFillSync(data, 8, 12);
    sockets[sent % sockets.length].send(data, port, host);
    sent++;
    bytesOut += data.length;
  }
  if (ratePerSecond === 0) {
    let waited = 0;
    while (sent - received - writtenOff > window) {
      if (waited >= writeOffMs) {
        writtenOff = sent - received;
        break;
      }
      await sleep(1);
      waited++;
    }
  }
  await new Promise((resolve) => setImmediate(resolve));
}
// Late answers.
await sleep(300);
const seconds = (performance.now() - started) / 1000;
for (const socket of sockets) socket.close();
process.send?.({ sent, received, bytesOut, bytesIn, seconds });
process.disconnect?.();
