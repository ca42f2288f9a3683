// Peer bursts at the relay socket (issue 16), beside coturn: a peer sends 1,000 datagrams of
// 1,000 B back-to-back to a client's relayed address; the client (ChannelData on channel 0x4000,
// over UDP, TCP and TLS) counts what reaches it. Servers: coturn 4.6.1, icegate as `npm start` runs
// it (TURN_DATA_PLANE=native: UDP clients on the native plane, TCP/TLS on the JS path) with the
// default TURN_RELAY_SOCKET_BUFFER, and icegate with the kernel's default 212,992 bytes (as before
// issue 16). Each case runs ROUNDS times (default 3). Ports 13400-13699 (issue 16's block).
//   node bench/burst.mjs            (after npm run build; run it alone: it measures loss under load)
import { execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { sleep, startChild, stopAllChildren } from './child-processes.mjs';
import { restCredential } from './rest-credential.mjs';
import {
  Attr,
  buildMessage,
  longTermKey,
  newTransactionId,
  REQUESTED_TRANSPORT_UDP,
  readErrorCode,
  readMessage,
  readXorAddressV4,
  u32,
  xorAddressV4,
} from './stun-wire.mjs';
import { importTenants } from './targets.mjs';

const BURST = 1000;
const SIZE = 1000;
const CHANNEL = 0x4000;
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const SECRET = 'burst-bench-secret-0123456789';
const root = new URL('..', import.meta.url).pathname;

const ALLOCATE = 0x003;
const CHANNEL_BIND = 0x009;

/** A TURN connection: frames (STUN messages or ChannelData) in, bytes out. */
async function connect(transport, port) {
  const listeners = new Set();
  const emit = (frame) => {
    for (const listener of listeners) listener(frame);
  };
  if (transport === 'udp') {
    const socket = createSocket('udp4');
    await new Promise((resolve) => socket.bind(0, '127.0.0.1', resolve));
    // Large, so the client's own socket is never where datagrams are lost.
    socket.setRecvBufferSize(8 * 1024 * 1024);
    socket.on('message', emit);
    return {
      send: (bytes) => socket.send(bytes, port, '127.0.0.1'),
      on: (listener) => listeners.add(listener),
      close: () => socket.close(),
    };
  }
  const socket =
    transport === 'tcp'
      ? net.connect(port, '127.0.0.1')
      : tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false });
  await new Promise((resolve, reject) => {
    socket.once(transport === 'tcp' ? 'connect' : 'secureConnect', resolve);
    socket.once('error', reject);
  });
  let pending = Buffer.alloc(0);
  socket.on('data', (chunk) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    for (;;) {
      if (pending.length < 4) break;
      // RFC 8656 §12.5: ChannelData over a stream is padded to 4 bytes; STUN is 20 + length.
      const isChannel = (pending[0] & 0xc0) === 0x40;
      const length = pending.readUInt16BE(2);
      const total = isChannel ? 4 + length + ((4 - (length % 4)) % 4) : 20 + length;
      if (pending.length < total) break;
      emit(pending.subarray(0, isChannel ? 4 + length : total));
      pending = pending.subarray(total);
    }
  });
  socket.on('error', () => {});
  return {
    send: (bytes) => socket.write(bytes),
    on: (listener) => listeners.add(listener),
    close: () => socket.destroy(),
  };
}

/** A signed request (401 first, then with the long-term key); resolves to the response. */
async function request(conn, auth, method, attrs) {
  const once = (message) =>
    new Promise((resolve, reject) => {
      const tid = newTransactionId();
      const timer = setTimeout(() => reject(new Error(`no answer to 0x${method.toString(16)}`)), 3000);
      conn.on((frame) => {
        const m = readMessage(frame);
        if (m?.transactionId.equals(tid)) {
          clearTimeout(timer);
          resolve(m);
        }
      });
      conn.send(message(tid));
    });
  const first = await once((tid) => buildMessage(method, tid, attrs));
  const realm = first.attrs.get(Attr.realm);
  const nonce = first.attrs.get(Attr.nonce);
  if (realm === undefined || nonce === undefined) return first;
  const key = longTermKey(auth.username, realm.toString(), auth.password);
  const signed = [
    ...attrs,
    [Attr.username, Buffer.from(auth.username)],
    [Attr.realm, realm],
    [Attr.nonce, nonce],
  ];
  const second = await once((tid) => buildMessage(method, tid, signed, { key }));
  const error = second.attrs.get(Attr.errorCode);
  if (error !== undefined)
    throw new Error(`0x${method.toString(16)}: ${JSON.stringify(readErrorCode(error))}`);
  return second;
}

/** One burst through `port` over `transport`: how many of BURST reached the client. */
async function burstOnce(transport, port) {
  const conn = await connect(transport, port);
  const peer = createSocket('udp4');
  await new Promise((resolve) => peer.bind(0, '127.0.0.1', resolve));
  try {
    const auth = restCredential(SECRET, 'acme');
    const allocated = await request(conn, auth, ALLOCATE, [
      [Attr.requestedTransport, REQUESTED_TRANSPORT_UDP],
      [Attr.lifetime, u32(600)],
    ]);
    const relay = readXorAddressV4(allocated.attrs.get(Attr.xorRelayedAddress));
    if (relay === null) throw new Error('no relayed address');
    const channel = Buffer.alloc(4);
    channel.writeUInt16BE(CHANNEL, 0);
    await request(conn, auth, CHANNEL_BIND, [
      [Attr.channelNumber, channel],
      [Attr.xorPeerAddress, xorAddressV4('127.0.0.1', peer.address().port)],
    ]);
    let received = 0;
    let warm = false;
    let last = performance.now();
    conn.on((frame) => {
      if (frame.length < 4 || frame.readUInt16BE(0) !== CHANNEL) return;
      if (frame.length - 4 === 1) warm = true;
      else if (frame.length - 4 === SIZE) {
        received++;
        last = performance.now();
      }
    });
    // One small datagram first: the path works before the burst.
    for (let i = 0; i < 20 && !warm; i++) {
      peer.send(Buffer.alloc(1), relay.port, relay.address);
      await sleep(50);
    }
    if (!warm) throw new Error('warm-up datagram never arrived');
    const payload = Buffer.alloc(SIZE, 0x5a);
    for (let i = 0; i < BURST; i++) peer.send(payload, relay.port, relay.address);
    last = performance.now();
    while (received < BURST && performance.now() - last < 1000) await sleep(50);
    return received;
  } finally {
    conn.close();
    peer.close();
  }
}

function certificate(dir) {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=localhost',
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { stdio: 'ignore' },
  );
  return { cert, key };
}

async function startCoturn(dir, { cert, key }) {
  const child = startChild(
    'coturn',
    'turnserver',
    [
      '-n',
      '--use-auth-secret',
      `--static-auth-secret=${SECRET}`,
      '--realm=icegate',
      '--listening-ip=127.0.0.1',
      '--listening-port=13400',
      '--tls-listening-port=13401',
      '--relay-ip=127.0.0.1',
      '--min-port=13410',
      '--max-port=13499',
      '--allow-loopback-peers',
      `--cert=${cert}`,
      `--pkey=${key}`,
      '--no-cli',
      '--no-dtls',
      '--log-file=stdout',
      '--simple-log',
      `--pidfile=${join(dir, 'turnserver.pid')}`,
    ],
    { timeoutMs: 600_000 },
  );
  await sleep(1500);
  return { child, udp: 13400, tcp: 13400, tls: 13401 };
}

async function startIcegate(dir, cert, index, extraEnv) {
  const base = 13500 + index * 100;
  const dataDir = join(dir, `icegate-${index}`);
  mkdirSync(dataDir, { recursive: true });
  const note = await importTenants(dataDir, ['acme']);
  if (note !== null) throw new Error(note);
  const child = startChild(`icegate-${index}`, process.execPath, [join(root, 'dist/src/main.js')], {
    env: {
      ...process.env,
      DATA_DIR: dataDir,
      TURN_LISTEN_IP: '127.0.0.1',
      TURN_PORT: String(base),
      TURN_TLS_PORT: String(base + 1),
      TURN_TLS_CERT: cert.cert,
      TURN_TLS_KEY: cert.key,
      HTTP_PORT: String(base + 2),
      METRICS_PORT: String(base + 3),
      METRICS_LISTEN_IP: '127.0.0.1',
      TURN_SECRETS: SECRET,
      TURN_ALLOW_LOOPBACK_PEERS: 'true',
      TURN_MIN_PORT: String(base + 10),
      TURN_MAX_PORT: String(base + 99),
      LOG_LEVEL: 'warn',
      ...extraEnv,
    },
    timeoutMs: 600_000,
  });
  await sleep(2500);
  return { child, udp: base, tcp: base, tls: base + 1, metrics: base + 2 };
}

/** icegate_relay_receive_buffer_drops_total by plane, from the node's metrics listener. */
async function dropMetric(port) {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const out = {};
    for (const match of text.matchAll(/^icegate_relay_receive_buffer_drops_total\{plane="(\w+)"\} (\d+)/gm)) {
      out[match[1]] = Number(match[2]);
    }
    return out;
  } catch {
    return null;
  }
}

async function measure(label, server) {
  const row = { server: label };
  for (const transport of ['udp', 'tcp', 'tls']) {
    const counts = [];
    for (let round = 0; round < ROUNDS; round++) {
      try {
        counts.push(await burstOnce(transport, server[transport]));
      } catch (error) {
        counts.push(`error: ${error.message}`);
      }
      await sleep(300);
    }
    row[transport] = counts;
  }
  if (server.metrics !== undefined) {
    await sleep(11_000); // the drop sampler runs every 10 s
    row.dropMetric = await dropMetric(server.metrics);
  }
  return row;
}

async function main() {
  if (!existsSync(join(root, 'dist/src/main.js'))) throw new Error('run npm run build first');
  const dir = mkdtempSync(join(tmpdir(), 'icegate-burst-'));
  const cert = certificate(dir);
  const rows = [];
  const rmem = readFileSync('/proc/sys/net/core/rmem_max', 'utf8').trim();
  try {
    const coturn = await startCoturn(dir, cert);
    rows.push(await measure('coturn 4.6.1', coturn));
    coturn.child.stop?.();
    const sized = await startIcegate(dir, cert, 1, {});
    rows.push(await measure('icegate (TURN_RELAY_SOCKET_BUFFER default)', sized));
    sized.child.stop?.();
    const plain = await startIcegate(dir, cert, 2, { TURN_RELAY_SOCKET_BUFFER: '212992' });
    rows.push(await measure('icegate (TURN_RELAY_SOCKET_BUFFER=212992, the kernel default)', plain));
  } finally {
    stopAllChildren();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(
    `\nBurst: ${BURST} x ${SIZE} B back-to-back from a peer, received by the client (${ROUNDS} rounds each; net.core.rmem_max ${rmem})\n`,
  );
  console.log('| server | UDP | TCP | TLS | drop metric |');
  console.log('|---|---|---|---|---|');
  for (const r of rows) {
    const drops = r.dropMetric === undefined ? '' : JSON.stringify(r.dropMetric);
    console.log(
      `| ${r.server} | ${r.udp.join(', ')} | ${r.tcp.join(', ')} | ${r.tls.join(', ')} | ${drops} |`,
    );
  }
}

await main();
process.exit(0);
