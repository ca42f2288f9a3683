// Allocation load generator: opens up to --count allocations on a TURN server, each from its own
// UDP socket (an allocation is keyed by the client's 5-tuple, RFC 8656 §2.2), each with the full
// long-term dance (unsigned Allocate, 401, signed Allocate), at most --window in flight.
// It stops launching at the first refusal or error, and pauses at each checkpoint count with no
// request in flight, so the caller can read the server's memory at rest.
//
// Protocol with the caller: JSON lines on stdout
//   {"event":"checkpoint","live":N,"activeMs":…}  then waits for a "continue" line on stdin
//   {"event":"done","live":…,"attempted":…,"activeMs":…,"firstError":…,"segments":[…]}
// then holds its allocations until killed; or, with --release, deletes them all (Refresh with
// LIFETIME 0, --window at a time) before `done` (which then also has "released") and exits.
//
// Usage: node bench/alloc-load.mjs --port P --secret S [--tenant bench] [--count 10000]
//        [--checkpoints 1000,10000] [--window 64] [--sources N (client addresses in 127.1/16)]
//        [--release]
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { restCredential } from './rest-credential.mjs';
import { Attr, Method, REQUESTED_TRANSPORT_UDP, u32 } from './stun-wire.mjs';
import { TurnClient } from './turn-client.mjs';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    secret: { type: 'string', default: process.env.BENCH_SECRET ?? '' },
    tenant: { type: 'string', default: 'bench' },
    count: { type: 'string', default: '10000' },
    checkpoints: { type: 'string', default: '1000,10000' },
    window: { type: 'string', default: '64' },
    sources: { type: 'string', default: '1' },
    release: { type: 'boolean', default: false },
  },
});
const server = { address: '127.0.0.1', port: Number(values.port) };
const count = Number(values.count);
const windowSize = Number(values.window);
const checkpoints = values.checkpoints
  .split(',')
  .map(Number)
  .filter((n) => n > 0 && n <= count)
  .sort((a, b) => a - b);
const credential = restCredential(values.secret, values.tenant, 3600);
const sources = Math.max(1, Number(values.sources));

/** The client address of allocation `i`: 127.0.0.1 alone, or one of `sources` addresses in 127.1/16. */
function sourceAddress(i) {
  if (sources === 1) return '127.0.0.1';
  const n = i % sources;
  return `127.1.${Math.floor(n / 250)}.${(n % 250) + 1}`;
}

const emit = (event) => process.stdout.write(`${JSON.stringify(event)}\n`);
const lines = createInterface({ input: process.stdin });
const waiters = [];
// A "continue" that arrives before its checkpoint is kept, not lost.
let credits = 0;
lines.on('line', (line) => {
  if (line.trim() !== 'continue') return;
  const waiter = waiters.shift();
  if (waiter) waiter();
  else credits += 1;
});
const waitForContinue = () => {
  if (credits > 0) {
    credits -= 1;
    return Promise.resolve();
  }
  return new Promise((resolve) => waiters.push(resolve));
};

const clients = [];
let live = 0;
let attempted = 0;
let inflight = 0;
let firstError = null;
let activeMs = 0;
let segmentStart = performance.now();
let segmentLive = 0;
const segments = [];

function closeSegment() {
  const now = performance.now();
  const ms = now - segmentStart;
  activeMs += ms;
  segments.push({
    from: segmentLive,
    to: live,
    ms: Math.round(ms),
    perSecond: ms > 0 ? Math.round(((live - segmentLive) * 1000) / ms) : null,
  });
  segmentLive = live;
}

async function openOne() {
  const localAddress = sourceAddress(attempted);
  attempted += 1;
  inflight += 1;
  let client = null;
  try {
    client = await TurnClient.open(server, credential, { localAddress });
    await client.request(Method.allocate, [
      [Attr.requestedTransport, REQUESTED_TRANSPORT_UDP],
      [Attr.lifetime, u32(600)],
    ]);
    clients.push(client);
    live += 1;
  } catch (err) {
    client?.close();
    if (firstError === null) {
      firstError = { code: err.code ?? 'exception', message: String(err.message ?? err), atLive: live };
    }
  } finally {
    inflight -= 1;
  }
}

async function main() {
  let nextCheckpoint = 0;
  segmentStart = performance.now();
  while (firstError === null) {
    const target = checkpoints[nextCheckpoint] ?? count;
    if (live >= target && inflight === 0) {
      if (nextCheckpoint < checkpoints.length && live === checkpoints[nextCheckpoint]) {
        closeSegment();
        emit({ event: 'checkpoint', live, activeMs: Math.round(activeMs) });
        await waitForContinue();
        segmentStart = performance.now();
        nextCheckpoint += 1;
        continue;
      }
      break;
    }
    if (live + inflight < target && inflight < windowSize) {
      openOne();
      // Let the event loop run so responses are read while we keep the window full.
      if (inflight >= windowSize || attempted % 16 === 0) await new Promise((r) => setImmediate(r));
      continue;
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  while (inflight > 0) await new Promise((r) => setTimeout(r, 5));
  if (performance.now() > segmentStart && segmentLive !== live) closeSegment();
  const released = values.release ? await releaseAll() : undefined;
  emit({
    event: 'done',
    live,
    attempted,
    activeMs: Math.round(activeMs),
    perSecond: activeMs > 0 ? Math.round((live * 1000) / activeMs) : null,
    firstError,
    segments,
    ...(released === undefined ? {} : { released }),
  });
}

/** Deletes every allocation held (Refresh, LIFETIME 0), --window at a time; the number deleted. */
async function releaseAll() {
  let released = 0;
  let next = 0;
  const lane = async () => {
    while (next < clients.length) {
      const client = clients[next++];
      try {
        await client.request(Method.refresh, [[Attr.lifetime, u32(0)]]);
        released += 1;
      } catch {
        // Counted by its absence: `released` below `live`.
      } finally {
        client.close();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(windowSize, clients.length) }, lane));
  clients.length = 0;
  return released;
}

for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));
await main();
// Hold the allocations (the sockets keep the process alive) until the caller kills us; after a
// release nothing is left to hold.
if (values.release) process.exit(0);
