// CPU per relayed packet, native plane vs the same work in dgram, both directions:
// peer -> client (ChannelData out of the listening port) and client -> peer ChannelData (↑).
//   node native/bench/relay-cpu.mjs [seconds=3] [repeat=2] [flows=2]
//   BENCH_MODES=js,native:1,native:2,native:2:nogso (default) picks the relays compared:
//   js = dgram; native:N = the addon with N data threads; :nogso = UDP GSO off.
// The relay runs in a child process whose utime+stime (/proc/PID/stat, all its threads) is the
// figure; the parent is the peer and the clients. `flows` relays/clients share the load (so
// several data threads have work). Loopback only, bounded in time.
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const LOOPBACK = '127.0.0.1';
const here = dirname(fileURLToPath(import.meta.url));
const PAYLOAD = 120;

async function bind() {
  const socket = dgram.createSocket('udp4');
  socket.bind(0, LOOPBACK);
  await once(socket, 'listening');
  return socket;
}

function parseMode(mode) {
  const [kind, threads, flag] = mode.split(':');
  return { native: kind === 'native', threads: Number(threads ?? 1), gso: flag !== 'nogso' };
}

function loadAddon() {
  return createRequire(import.meta.url)(join(here, '..', 'build', 'Release', 'icegate_native.node'));
}

function lineReader(child) {
  const lines = [];
  child.stdout.on('data', (chunk) => lines.push(...String(chunk).trim().split('\n')));
  const waitLine = async (n) => {
    while (lines.length < n) await new Promise((r) => setTimeout(r, 10));
  };
  return { lines, waitLine };
}

function exitWithCount(count) {
  process.on('SIGTERM', () => {
    process.stdout.write(`forwarded ${count()}\n`);
    process.exit(0);
  });
  process.stdin.resume();
}

// Child, peer -> client: `flows` relay sockets, relay i forwarding as ChannelData 0x4000 to client i.
/** A loopback relay on any port: the addon answers id * 65536 + port. */
function openRelay(addon, plane) {
  const packed = addon.openRelay(plane, LOOPBACK, 0, 0);
  return { id: Math.floor(packed / 65536), port: packed % 65536 };
}

async function serve(mode, clientPorts) {
  const { native, threads, gso } = parseMode(mode);
  const listener = await bind();
  if (native) {
    const addon = loadAddon();
    const state = Object.getOwnPropertySymbols(listener).find((key) => key.description === 'state symbol');
    const plane = addon.createPlane(listener[state].handle.fd, { threads, gso });
    const relays = clientPorts.map((port) => {
      const relay = openRelay(addon, plane);
      addon.setClient(plane, relay.id, LOOPBACK, port);
      return relay;
    });
    exitWithCount(() => addon.counters(plane).sentChannelData);
    process.stdout.write(`${relays.map((r) => r.port).join(' ')}\n`);
    // Permissions and channels arrive after the ports are known (the parent's peer port).
    process.stdin.on('data', (chunk) => {
      const peerPort = Number(String(chunk).trim());
      for (const relay of relays) {
        addon.setPermissions(plane, relay.id, [LOOPBACK]);
        addon.setChannels(plane, relay.id, [{ ip: LOOPBACK, port: peerPort, channel: 0x4000 }]);
      }
      process.stdout.write('ready\n');
    });
    return;
  }
  // The JS path: permission by IP, channel by peer address, header + payload without a copy.
  const permissions = new Set();
  const channels = new Map();
  const headers = new Map();
  let forwarded = 0;
  const relays = [];
  for (const clientPort of clientPorts) {
    const relay = await bind();
    relay.on('message', (data, rinfo) => {
      if (!permissions.has(rinfo.address)) return;
      const channel = channels.get(`${rinfo.address}:${rinfo.port}`);
      if (channel === undefined) return;
      let header = headers.get(data.length);
      if (header === undefined) {
        header = Buffer.from([channel >> 8, channel & 0xff, data.length >> 8, data.length & 0xff]);
        headers.set(data.length, header);
      }
      listener.send([header, data], clientPort, LOOPBACK);
      forwarded += 1;
    });
    relays.push(relay);
  }
  exitWithCount(() => forwarded);
  process.stdout.write(`${relays.map((r) => r.address().port).join(' ')}\n`);
  process.stdin.on('data', (chunk) => {
    const peerPort = Number(String(chunk).trim());
    permissions.add(LOOPBACK);
    channels.set(`${LOOPBACK}:${peerPort}`, 0x4000);
    process.stdout.write('ready\n');
  });
}

function cpuTicks(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime, in clock ticks (1/100 s)
}

// Sends bursts of 64 per macrotask round-robin over `targets` until the deadline: saturating for
// the relay while the parent stays responsive.
async function blast(packet, targets, seconds) {
  const end = Date.now() + seconds * 1000;
  let sent = 0;
  let next = 0;
  while (Date.now() < end) {
    for (let i = 0; i < 64; i += 1) {
      const target = targets[next];
      next = (next + 1) % targets.length;
      target.socket.send(packet, target.port, LOOPBACK);
    }
    sent += 64;
    await new Promise((r) => setImmediate(r));
  }
  return sent;
}

async function finish(child, startTicks, mode, sent, delivered, lines) {
  await new Promise((r) => setTimeout(r, 300));
  const ticks = cpuTicks(child.pid) - startTicks;
  child.kill('SIGTERM');
  await once(child, 'exit');
  const forwarded = Number(lines.find((line) => line.startsWith('forwarded '))?.split(' ')[1] ?? 0);
  const cpuSeconds = ticks / 100;
  return {
    mode,
    sent,
    forwarded,
    delivered: delivered(),
    cpuSeconds,
    usPerPacket: forwarded > 0 ? (cpuSeconds * 1e6) / forwarded : null,
  };
}

async function measure(mode, seconds, flows) {
  const clients = await Promise.all(Array.from({ length: flows }, () => bind()));
  const peer = await bind();
  let delivered = 0;
  for (const client of clients) client.on('message', () => (delivered += 1));
  const child = spawn(
    process.execPath,
    [fileURLToPath(import.meta.url), 'serve', mode, clients.map((c) => c.address().port).join(',')],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const { lines, waitLine } = lineReader(child);
  await waitLine(1);
  const relayPorts = lines[0].split(' ').map(Number);
  child.stdin.write(`${peer.address().port}\n`);
  await waitLine(2);
  const startTicks = cpuTicks(child.pid);
  const targets = relayPorts.map((port) => ({ socket: peer, port }));
  const sent = await blast(Buffer.alloc(PAYLOAD, 7), targets, seconds);
  const result = await finish(child, startTicks, mode, sent, () => delivered, lines);
  for (const s of [...clients, peer]) s.close();
  return result;
}

// Child, client -> peer: the listening port receives ChannelData 0x4000 from client i and sends
// the payload to the peer from relay i.
async function serveUpstream(mode, clientPorts, peerPort) {
  const { native, threads, gso } = parseMode(mode);
  let listenPort;
  let forwardedCount;
  if (native) {
    const addon = loadAddon();
    const plane = addon.createPlane(-1, { threads, gso });
    listenPort = addon.openListener(plane, LOOPBACK, 0, () => {}).port;
    for (const clientPort of clientPorts) {
      const relay = openRelay(addon, plane);
      addon.setClient(plane, relay.id, LOOPBACK, clientPort);
      addon.setPermissions(plane, relay.id, [LOOPBACK]);
      addon.setChannels(plane, relay.id, [{ ip: LOOPBACK, port: peerPort, channel: 0x4000 }]);
    }
    forwardedCount = () => addon.counters(plane).sentToPeer;
  } else {
    const listener = await bind();
    listenPort = listener.address().port;
    const byClient = new Map();
    for (const clientPort of clientPorts) {
      byClient.set(`${LOOPBACK}:${clientPort}`, {
        relay: await bind(),
        peers: new Map([[0x4000, peerPort]]),
      });
    }
    const permissions = new Set([LOOPBACK]);
    let forwarded = 0;
    listener.on('message', (data, rinfo) => {
      if (data.length < 4 || (data[0] & 0xc0) !== 0x40) return;
      const allocation = byClient.get(`${rinfo.address}:${rinfo.port}`);
      if (allocation === undefined) return;
      const port = allocation.peers.get(data.readUInt16BE(0));
      if (port === undefined || !permissions.has(LOOPBACK)) return;
      const length = data.readUInt16BE(2);
      if (length > data.length - 4) return;
      allocation.relay.send(data.subarray(4, 4 + length), port, LOOPBACK);
      forwarded += 1;
    });
    forwardedCount = () => forwarded;
  }
  exitWithCount(forwardedCount);
  process.stdout.write(`${listenPort}\n`);
}

async function measureUpstream(mode, seconds, flows) {
  const clients = await Promise.all(Array.from({ length: flows }, () => bind()));
  const peer = await bind();
  let delivered = 0;
  peer.on('message', () => (delivered += 1));
  const child = spawn(
    process.execPath,
    [
      fileURLToPath(import.meta.url),
      'serve-up',
      mode,
      clients.map((c) => c.address().port).join(','),
      String(peer.address().port),
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const { lines, waitLine } = lineReader(child);
  await waitLine(1);
  const listenPort = Number(lines[0]);
  const packet = Buffer.concat([Buffer.from([0x40, 0x00, 0x00, PAYLOAD]), Buffer.alloc(PAYLOAD, 7)]);
  const startTicks = cpuTicks(child.pid);
  const targets = clients.map((socket) => ({ socket, port: listenPort }));
  const sent = await blast(packet, targets, seconds);
  const result = await finish(child, startTicks, `${mode}↑`, sent, () => delivered, lines);
  for (const s of [...clients, peer]) s.close();
  return result;
}

if (process.argv[2] === 'serve-up') {
  await serveUpstream(process.argv[3], process.argv[4].split(',').map(Number), Number(process.argv[5]));
} else if (process.argv[2] === 'serve') {
  await serve(process.argv[3], process.argv[4].split(',').map(Number));
} else {
  const seconds = Number(process.argv[2] ?? 3);
  const repeat = Number(process.argv[3] ?? 2);
  const flows = Number(process.argv[4] ?? 2);
  const modes = (process.env.BENCH_MODES ?? 'js,native:1,native:2,native:2:nogso').split(',');
  const before = readFileSync('/proc/loadavg', 'utf8').trim();
  const results = [];
  for (let r = 0; r < repeat; r += 1) {
    for (const mode of modes) results.push(await measure(mode, seconds, flows));
    for (const mode of modes) results.push(await measureUpstream(mode, seconds, flows));
  }
  console.log(`${new Date().toISOString()}, ${flows} flows, ${PAYLOAD}-byte payloads, ${seconds} s per run`);
  for (const x of results) {
    console.log(
      `${x.mode.padEnd(16)} offered ${x.sent}, relay forwarded ${x.forwarded}, far end got ${x.delivered}; relay CPU ${x.cpuSeconds.toFixed(2)} s  ${x.usPerPacket?.toFixed(2)} us/packet`,
    );
  }
  console.log(`load average before: ${before}; after: ${readFileSync('/proc/loadavg', 'utf8').trim()}`);
}
