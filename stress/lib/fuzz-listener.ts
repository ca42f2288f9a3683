// Fuzz targets over real sockets: icegate's UDP listener (and its relay sockets, from a peer), and
// its TCP and TLS listeners. Clients first allocate, bind a channel and permit a peer with real
// credentials, then send random, mutated and re-signed inputs; a peer socket sprays the relay
// ports. Oracle: no handler exception reaches the listeners' error reporter, no uncaught error,
// and afterwards a new client still allocates and relays; once closed, no relay socket is left.
import dgram from 'node:dgram';
import { encodeChannelData, type TransportAddress } from '../../src/stun/index.js';
import type { PortBlock } from '../../test/helpers/ports.js';
import { makeTestCertificate } from '../../test/helpers/tls-cert.js';
import { relayedAddress, TurnClient, type TurnTransport } from '../../test/helpers/turn-client.js';
import { answerName, type FuzzResult, FuzzTally, runFuzz } from './fuzz-result.js';
import { fixStunLength, MutationEngine, Prng } from './mutation.js';
import { sleep } from './resources.js';
import { type SecurityHost, startSecurityHost } from './security-host.js';
import { generatedSeeds, unsignedCorpus } from './seeds.js';

/** Options of the listener targets. */
export interface ListenerFuzzOptions {
  inputs: number;
  ports: PortBlock;
  seed?: number;
  /** Wall-clock cap, ms (default 10 minutes). */
  deadlineMs?: number;
}

const CHANNEL = 0x4001;

interface Fuzzer {
  session: TurnClient;
  signed: Buffer[];
  key: Buffer;
  relay: TransportAddress;
}

/** Opens a session that allocates, permits `peer` and binds a channel to it. */
async function fuzzer(host: SecurityHost, transport: TurnTransport, peer: TransportAddress): Promise<Fuzzer> {
  const { username, password } = host.credential('fuzz');
  const where = host.address(transport);
  const session = await TurnClient.open({
    address: where.address,
    port: where.port,
    transport,
    username,
    password,
    inboxLimit: 0,
  });
  const allocated = await session.allocate();
  if (allocated.code !== 200) throw new Error(`fuzzer allocate: ${allocated.code}`);
  const relay = relayedAddress(allocated);
  await session.channelBind(CHANNEL, peer);
  const signer = session.signer!;
  return { session, signed: generatedSeeds(signer), key: signer.key, relay };
}

/** One client input: random, a mutated captured/unsigned packet, a re-signed mutation, or a valid request. */
function clientInput(engine: MutationEngine, f: Fuzzer, unsigned: readonly Buffer[]): Buffer {
  const rng = engine.rng;
  const roll = rng.int(100);
  if (roll < 10) return rng.bytes(rng.int(rng.chance(0.9) ? 120 : 1400));
  if (roll < 35) return engine.mutate(rng.pick(unsigned), { corpus: unsigned });
  if (roll < 80) return engine.mutateSigned(rng.pick(f.signed), f.key, f.signed);
  if (roll < 90) return engine.mutate(rng.pick(f.signed), { corpus: f.signed });
  return rng.pick(f.signed);
}

/**
 * One stream chunk: mostly whole frames the framing accepts (STUN with its length fixed and the
 * cookie in place, padded ChannelData), so inputs reach the core; one in 300 is garbage that ends
 * the connection (the server must close it, and the fuzzer reconnects).
 */
function streamInput(engine: MutationEngine, f: Fuzzer, unsigned: readonly Buffer[]): Buffer {
  const rng = engine.rng;
  const roll = rng.int(300);
  if (roll === 0) return rng.bytes(1 + rng.int(64));
  if (roll < 40) {
    return encodeChannelData(
      rng.chance(0.9) ? CHANNEL : 0x4000 + rng.int(0x1000),
      rng.bytes(rng.int(200)),
      true,
    );
  }
  let frame: Buffer;
  if (roll < 170) frame = engine.mutateSigned(rng.pick(f.signed), f.key, f.signed);
  else if (roll < 250) frame = engine.mutate(rng.pick(unsigned), { corpus: unsigned });
  else frame = Buffer.from(rng.pick(f.signed));
  if (frame.length < 20) return encodeChannelData(CHANNEL, frame, true);
  frame = fixStunLength(frame);
  frame[0] = frame[0]! & 0x3f;
  frame.writeUInt32BE(0x2112a442, 4);
  return frame;
}

/** After fuzzing: a fresh client allocates and relays a packet to `peer`. */
async function stillRelays(
  host: SecurityHost,
  transport: TurnTransport,
  peer: dgram.Socket,
  received: () => number,
): Promise<string | null> {
  const { username, password } = host.credential('after-fuzz');
  const where = host.address(transport);
  // Retransmissions (a short first RTO), as any UDP client does: the fuzzers, on the same IP, spent its unproven-answer budget.
  const session = await TurnClient.open({
    address: where.address,
    port: where.port,
    transport,
    username,
    password,
    timeoutMs: 4000,
    rtoMs: 250,
    inboxLimit: 0,
  });
  try {
    const allocated = await session.allocate();
    if (allocated.code !== 200) return `${transport}: Allocate after fuzzing answered ${allocated.code}`;
    const address = peer.address();
    const bound = await session.channelBind(0x4123, {
      family: 'IPv4',
      address: address.address,
      port: address.port,
    });
    if (bound.code !== 200) return `${transport}: ChannelBind after fuzzing answered ${bound.code}`;
    const before = received();
    session.channelData(0x4123, Buffer.from('still relaying'));
    for (let i = 0; i < 50 && received() === before; i++) await sleep(20);
    return received() > before ? null : `${transport}: nothing relayed after fuzzing`;
  } finally {
    await session.close();
  }
}

async function peerSocket(): Promise<{ socket: dgram.Socket; received: () => number }> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  let count = 0;
  socket.on('message', () => {
    count++;
  });
  return { socket, received: () => count };
}

function handlerErrors(host: SecurityHost, tally: FuzzTally): void {
  for (const error of host.counters.errors) {
    if (error.code === 'ICEGATE_TRANSPORT_HANDLER_ERROR')
      tally.exception(error.cause ?? error, Buffer.alloc(0));
    else tally.outcome(`transport error ${error.code}`);
  }
}

/** The UDP listener and its relay sockets; an input is a datagram the core received. */
export async function fuzzUdpListener(options: ListenerFuzzOptions): Promise<FuzzResult> {
  const engine = new MutationEngine(new Prng(options.seed ?? 5));
  const rng = engine.rng;
  const tally = new FuzzTally();
  const host = await startSecurityHost({
    relayMin: options.ports.relayMin,
    relayMax: options.ports.relayMax,
    filter: { allowLoopback: true },
  });
  const peer = await peerSocket();
  const unsigned = unsignedCorpus();
  const peerAddress = { family: 'IPv4' as const, address: '127.0.0.1', port: peer.socket.address().port };
  const fuzzers: Fuzzer[] = [];
  let result: FuzzResult;
  try {
    for (let i = 0; i < 6; i++) fuzzers.push(await fuzzer(host, 'udp', peerAddress));
    const delivered = (): number => host.counters.clientInputs + host.counters.peerInputs;
    const base = delivered();
    let sent = 0;
    let unaccounted = 0;
    const deadline = Date.now() + (options.deadlineMs ?? 600_000);
    let last = 0;
    result = await runFuzz(
      'listener: UDP (client and relay sockets)',
      options.inputs,
      tally,
      async () => {
        if (Date.now() > deadline)
          throw new Error(`UDP fuzz deadline: ${delivered() - base} inputs delivered`);
        for (let n = 0; n < 64; n++) {
          const f = rng.pick(fuzzers);
          if (rng.int(100) < 8) {
            const data = rng.chance(0.5)
              ? rng.bytes(1 + rng.int(300))
              : engine.mutate(rng.pick(unsigned), { corpus: unsigned });
            peer.socket.send(data, f.relay.port, f.relay.address);
          } else {
            f.session.send(clientInput(engine, f, unsigned));
          }
          sent++;
        }
        // Let the listener catch up so the kernel drops little; what never arrives (a datagram to
        // a relay port whose allocation a fuzzed Refresh ended) is written off after a while.
        for (let waits = 0; sent - (delivered() - base) > 1500; waits++) {
          if (waits === 50) {
            unaccounted += sent - (delivered() - base);
            sent = delivered() - base;
            break;
          }
          await sleep(1);
        }
        await new Promise((resolve) => setImmediate(resolve));
        const now = delivered() - base;
        const step = now - last;
        last = now;
        return step;
      },
      { batch: 1 },
    );
    result.outcomes['datagrams not delivered (closed relay ports, kernel drops)'] = unaccounted;
    result.outcomes['answered bytes received by fuzzing clients'] = fuzzers.reduce(
      (n, f) => n + f.session.bytesIn,
      0,
    );
    for (const [reason, n] of host.counters.drops) result.outcomes[`drop ${reason}`] = n;
    for (const [key, n] of host.counters.answers) {
      const [method, code] = key.split('/').map(Number);
      result.outcomes[answerName(method!, code!)] = n;
    }
    const failure = await stillRelays(host, 'udp', peer.socket, peer.received);
    if (failure !== null) tally.violation(failure);
  } finally {
    await Promise.all(fuzzers.map((f) => f.session.close()));
    handlerErrors(host, tally);
    await host.close();
    peer.socket.close();
  }
  if (host.host.relays.size !== 0) tally.violation(`${host.host.relays.size} relay sockets open after close`);
  result.exceptions = tally.exceptions;
  result.firstException = tally.firstException;
  result.violations = tally.violations;
  result.firstViolation = tally.firstViolation;
  result.mutations = engine.report();
  return result;
}

/**
 * The TCP and TLS listeners (a fifth of the connections over TLS); an input is one chunk written
 * to a connection: whole frames (valid, re-signed mutations, mutations with a fixed STUN length),
 * frames cut at random points, and now and then garbage that breaks the framing, after which the
 * server closes the connection and the fuzzer opens a new one.
 */
export async function fuzzStreamListeners(options: ListenerFuzzOptions): Promise<FuzzResult> {
  const engine = new MutationEngine(new Prng(options.seed ?? 6));
  const rng = engine.rng;
  const tally = new FuzzTally();
  const certificate = await makeTestCertificate();
  const host = await startSecurityHost({
    relayMin: options.ports.relayMin,
    relayMax: options.ports.relayMax,
    filter: { allowLoopback: true },
    tls: { certFile: certificate.certFile, keyFile: certificate.keyFile },
  });
  const peer = await peerSocket();
  const unsigned = unsignedCorpus().filter((b) => b.length >= 20 && b[0]! >> 6 === 0);
  const peerAddress = { family: 'IPv4' as const, address: '127.0.0.1', port: peer.socket.address().port };
  const slots: { transport: TurnTransport; f: Fuzzer | null; opening: Promise<void> | null }[] = [];
  for (let i = 0; i < 10; i++) slots.push({ transport: i < 8 ? 'tcp' : 'tls', f: null, opening: null });
  let reconnects = 0;
  let chunks = 0;
  let result: FuzzResult;
  const open = (slot: (typeof slots)[number]): Promise<void> => {
    slot.opening ??= fuzzer(host, slot.transport, peerAddress)
      .then((f) => {
        slot.f = f;
      })
      .catch((error: unknown) => {
        tally.outcome(`reopen failed: ${(error as Error).message}`);
      })
      .finally(() => {
        slot.opening = null;
      });
    return slot.opening;
  };
  try {
    await Promise.all(slots.map(open));
    const deadline = Date.now() + (options.deadlineMs ?? 600_000);
    const delivered = (): number => host.counters.clientInputs;
    const base = delivered();
    let last = 0;
    result = await runFuzz(
      'listener: TCP and TLS',
      options.inputs,
      tally,
      async () => {
        if (Date.now() > deadline) throw new Error(`stream fuzz deadline: ${delivered() - base} frames`);
        for (const slot of slots) {
          const f = slot.f;
          if (f === null || f.session.closed) {
            if (f !== null) {
              slot.f = null;
              reconnects++;
            }
            void open(slot);
            continue;
          }
          for (let n = 0; n < 16; n++) {
            const chunk = streamInput(engine, f, unsigned);
            // Cut some frames in two so reassembly across reads is exercised.
            if (rng.chance(0.2) && chunk.length > 2) {
              const cut = 1 + rng.int(chunk.length - 1);
              f.session.send(chunk.subarray(0, cut));
              f.session.send(chunk.subarray(cut));
            } else {
              f.session.send(chunk);
            }
            chunks++;
          }
        }
        await sleep(0);
        const now = delivered() - base;
        const step = now - last;
        last = now;
        return step;
      },
      { batch: 1 },
    );
    // Let the server finish what is in flight.
    await sleep(500);
    result.outcomes['chunks written'] = chunks;
    result.outcomes['connections closed by the server and reopened'] = reconnects;
    for (const [reason, n] of host.counters.drops) result.outcomes[`drop ${reason}`] = n;
    for (const [key, n] of host.counters.answers) {
      const [method, code] = key.split('/').map(Number);
      result.outcomes[answerName(method!, code!)] = n;
    }
    for (const transport of ['tcp', 'tls'] as const) {
      const failure = await stillRelays(host, transport, peer.socket, peer.received);
      if (failure !== null) tally.violation(failure);
    }
  } finally {
    await Promise.allSettled(slots.map((s) => s.opening));
    await Promise.all(slots.map((s) => s.f?.session.close()));
    handlerErrors(host, tally);
    await host.close();
    peer.socket.close();
    await certificate.dispose();
  }
  if (host.host.relays.size !== 0) tally.violation(`${host.host.relays.size} relay sockets open after close`);
  result.exceptions = tally.exceptions;
  result.firstException = tally.firstException;
  result.violations = tally.violations;
  result.firstViolation = tally.firstViolation;
  result.mutations = engine.report();
  result.notes = [`TCP listener closed ${host.tcp.stats.closedFraming} connections for framing errors`];
  return result;
}
