// CPU per relayed packet, native plane vs the same work in dgram: peer -> client (js, native)
// and client -> peer ChannelData (js↑, native↑).
//   node native/bench/relay-cpu.mjs [seconds=3] [repeat=2]
// The relay runs in a child process whose utime+stime (/proc/PID/stat) is the figure; the parent
// is the peer (sender) and the client (receiver). Loopback only, bounded in time.
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const LOOPBACK = '127.0.0.1';
const here = dirname(fileURLToPath(import.meta.url));

async function bind() {
  const socket = dgram.createSocket('udp4');
  socket.bind(0, LOOPBACK);
  await once(socket, 'listening');
  return socket;
}

// Child: one relay socket forwarding as ChannelData 0x4000 to the client port in argv.
async function serve(mode, clientPort) {
  const listener = await bind();
  let relayPort;
  if (mode === 'native') {
    const addon = createRequire(import.meta.url)(join(here, '..', 'build', 'Release', 'icegate_native.node'));
    const state = Object.getOwnPropertySymbols(listener).find((key) => key.description === 'state symbol');
    const plane = addon.createPlane(listener[state].handle.fd);
    const relay = addon.openRelay(plane, LOOPBACK, 0);
    addon.setClient(plane, relay.id, LOOPBACK, clientPort);
    relayPort = relay.port;
    process.on('SIGTERM', () => {
      process.stdout.write(`forwarded ${addon.counters(plane).sentChannelData}\n`);
      process.exit(0);
    });
    process.stdin.resume();
    process.stdout.write(`${relayPort}\n`);
    // Permissions and channels arrive after the port is known (the parent's peer port).
    process.stdin.on('data', (chunk) => {
      const peerPort = Number(String(chunk).trim());
      addon.setPermissions(plane, relay.id, [LOOPBACK]);
      addon.setChannels(plane, relay.id, [{ ip: LOOPBACK, port: peerPort, channel: 0x4000 }]);
      process.stdout.write('ready\n');
    });
    return;
  }
  // The JS path: permission by IP, channel by peer address, header + payload without a copy.
  const relay = await bind();
  relayPort = relay.address().port;
  const permissions = new Set();
  const channels = new Map();
  const headers = new Map();
  let forwarded = 0;
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
  process.on('SIGTERM', () => {
    process.stdout.write(`forwarded ${forwarded}\n`);
    process.exit(0);
  });
  process.stdin.resume();
  process.stdout.write(`${relayPort}\n`);
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

async function measure(mode, seconds) {
  const client = await bind();
  const peer = await bind();
  let delivered = 0;
  client.on('message', () => {
    delivered += 1;
  });
  const child = spawn(
    process.execPath,
    [fileURLToPath(import.meta.url), 'serve', mode, String(client.address().port)],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const lines = [];
  child.stdout.on('data', (chunk) => lines.push(...String(chunk).trim().split('\n')));
  const waitLine = async (n) => {
    while (lines.length < n) await new Promise((r) => setTimeout(r, 10));
  };
  await waitLine(1);
  const relayPort = Number(lines[0]);
  child.stdin.write(`${peer.address().port}\n`);
  await waitLine(2);
  const payload = Buffer.alloc(120, 7);
  const startTicks = cpuTicks(child.pid);
  const end = Date.now() + seconds * 1000;
  let sent = 0;
  // Bursts of 64 per macrotask: saturating for the relay while the parent stays responsive.
  while (Date.now() < end) {
    for (let i = 0; i < 64; i += 1) peer.send(payload, relayPort, LOOPBACK);
    sent += 64;
    await new Promise((r) => setImmediate(r));
  }
  await new Promise((r) => setTimeout(r, 300));
  const ticks = cpuTicks(child.pid) - startTicks;
  child.kill('SIGTERM');
  await once(child, 'exit');
  const forwarded = Number(lines.find((line) => line.startsWith('forwarded '))?.split(' ')[1] ?? 0);
  client.close();
  peer.close();
  const cpuSeconds = ticks / 100;
  return {
    mode,
    sent,
    forwarded,
    delivered,
    cpuSeconds,
    usPerPacket: forwarded > 0 ? (cpuSeconds * 1e6) / forwarded : null,
  };
}

// Child for the client -> peer direction: the listening port receives ChannelData 0x4000 from
// the client and sends the payload to the peer from the relay socket.
async function serveUpstream(mode, clientPort, peerPort) {
  let listenPort;
  let relayPort;
  let forwardedCount;
  if (mode === 'native') {
    const addon = createRequire(import.meta.url)(join(here, '..', 'build', 'Release', 'icegate_native.node'));
    const plane = addon.createPlane(-1);
    listenPort = addon.openListener(plane, LOOPBACK, 0, () => {}).port;
    const relay = addon.openRelay(plane, LOOPBACK, 0);
    relayPort = relay.port;
    addon.setClient(plane, relay.id, LOOPBACK, clientPort);
    addon.setPermissions(plane, relay.id, [LOOPBACK]);
    addon.setChannels(plane, relay.id, [{ ip: LOOPBACK, port: peerPort, channel: 0x4000 }]);
    forwardedCount = () => addon.counters(plane).sentToPeer;
  } else {
    const listener = await bind();
    const relay = await bind();
    listenPort = listener.address().port;
    relayPort = relay.address().port;
    const byClient = new Map([
      [`${LOOPBACK}:${clientPort}`, { relay, peers: new Map([[0x4000, peerPort]]) }],
    ]);
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
  process.on('SIGTERM', () => {
    process.stdout.write(`forwarded ${forwardedCount()}\n`);
    process.exit(0);
  });
  process.stdin.resume();
  process.stdout.write(`${listenPort} ${relayPort}\n`);
}

async function measureUpstream(mode, seconds) {
  const client = await bind();
  const peer = await bind();
  let delivered = 0;
  peer.on('message', () => {
    delivered += 1;
  });
  const child = spawn(
    process.execPath,
    [
      fileURLToPath(import.meta.url),
      'serve-up',
      mode,
      String(client.address().port),
      String(peer.address().port),
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const lines = [];
  child.stdout.on('data', (chunk) => lines.push(...String(chunk).trim().split('\n')));
  while (lines.length < 1) await new Promise((r) => setTimeout(r, 10));
  const listenPort = Number(lines[0].split(' ')[0]);
  const packet = Buffer.concat([Buffer.from([0x40, 0x00, 0x00, 120]), Buffer.alloc(120, 7)]);
  const startTicks = cpuTicks(child.pid);
  const end = Date.now() + seconds * 1000;
  let sent = 0;
  while (Date.now() < end) {
    for (let i = 0; i < 64; i += 1) client.send(packet, listenPort, LOOPBACK);
    sent += 64;
    await new Promise((r) => setImmediate(r));
  }
  await new Promise((r) => setTimeout(r, 300));
  const ticks = cpuTicks(child.pid) - startTicks;
  child.kill('SIGTERM');
  await once(child, 'exit');
  const forwarded = Number(lines.find((line) => line.startsWith('forwarded '))?.split(' ')[1] ?? 0);
  client.close();
  peer.close();
  const cpuSeconds = ticks / 100;
  return {
    mode: `${mode}↑`,
    sent,
    forwarded,
    delivered,
    cpuSeconds,
    usPerPacket: forwarded > 0 ? (cpuSeconds * 1e6) / forwarded : null,
  };
}

if (process.argv[2] === 'serve-up') {
  await serveUpstream(process.argv[3], Number(process.argv[4]), Number(process.argv[5]));
} else if (process.argv[2] === 'serve') {
  await serve(process.argv[3], Number(process.argv[4]));
} else {
  const seconds = Number(process.argv[2] ?? 3);
  const repeat = Number(process.argv[3] ?? 2);
  const results = [];
  for (let r = 0; r < repeat; r += 1) {
    for (const mode of ['js', 'native']) results.push(await measure(mode, seconds));
    for (const mode of ['js', 'native']) results.push(await measureUpstream(mode, seconds));
  }
  for (const x of results) {
    console.log(
      `${x.mode.padEnd(7)} offered ${x.sent}, relay forwarded ${x.forwarded}, far end got ${x.delivered}; relay CPU ${x.cpuSeconds.toFixed(2)} s  ${x.usPerPacket?.toFixed(2)} us/packet`,
    );
  }
  console.log(`load average: ${readFileSync('/proc/loadavg', 'utf8').trim()}`);
}
