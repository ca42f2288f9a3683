// Fuzz target of the sans-I/O TURN core (src/turn/): a TurnServer with a counting sink and a fake
// clock, fed by several clients (UDP and TCP 5-tuples, four tenants with different policies) with
// random bytes, mutated captured packets, and mutations of requests signed with the clients' real
// credentials and fresh nonces, re-signed after mutation so MESSAGE-INTEGRITY still passes and the
// mutated attributes reach the Allocate, Refresh, CreatePermission and ChannelBind handlers; plus
// mutated peer datagrams on live and unknown relays. Oracle: nothing throws, relays open only for
// live allocations, and once every lifetime has run out no allocation and no relay is left.
import { mintCredential, NonceFactory, SecretRing } from '../../src/auth/index.js';
import { longTermKey, type TransportAddress } from '../../src/stun/index.js';
import {
  type ActionSink,
  type AuthDecision,
  FiveTuple,
  type RelayRequest,
  TurnServer,
} from '../../src/turn/index.js';
import { PeerFilter } from '../../src/turn/peer-filter/index.js';
import { answerName, type FuzzResult, FuzzTally, runFuzz } from './fuzz-result.js';
import { MutationEngine, Prng } from './mutation.js';
import { generatedSeeds, unsignedCorpus } from './seeds.js';

/** Options of the core target. */
export interface CoreFuzzOptions {
  inputs: number;
  seed?: number;
}

const REALM = 'icegate';
const SERVER: TransportAddress = { family: 'IPv4', address: '192.0.2.1', port: 3478 };

/** An ActionSink that counts, keeps nothing per packet, and opens relays (sometimes late, sometimes never). */
class CountingSink implements ActionSink {
  server: TurnServer | null = null;
  readonly open = new Set<number>();
  bytesToClient = 0;
  packetsToPeer = 0;
  #nextRelay = 1;
  #nextPort = 49152;

  constructor(readonly rng: Prng) {}

  sendToClient(_tuple: FiveTuple, data: Buffer | readonly Buffer[]): void {
    this.bytesToClient += Buffer.isBuffer(data) ? data.length : data.reduce((n, b) => n + b.length, 0);
  }

  sendToPeer(): void {
    this.packetsToPeer++;
  }

  bindRelay(request: RelayRequest): void {
    const roll = this.rng.int(20);
    if (roll === 0) {
      setImmediate(() => this.server!.relayFailed(request.ref, 'exhausted'));
      return;
    }
    const answer = (): void => {
      const port = this.#nextPort;
      this.#nextPort = this.#nextPort >= 65000 ? 49152 : this.#nextPort + 2;
      const relayId = this.#nextRelay++;
      this.open.add(relayId);
      const address = request.family === 'IPv4' ? '198.51.100.7' : '2001:db8::7';
      const relay = { relayId, address: { family: request.family, address, port } };
      if (request.reserveNext) {
        const reservedId = this.#nextRelay++;
        this.open.add(reservedId);
        this.server!.relayBound(request.ref, {
          ...relay,
          reserved: { relayId: reservedId, address: { family: request.family, address, port: port + 1 } },
        });
        return;
      }
      this.server!.relayBound(request.ref, relay);
    };
    if (roll < 5) setImmediate(answer);
    else answer();
  }

  closeRelay(relayId: number): void {
    this.open.delete(relayId);
  }
}

interface FuzzClient {
  tuple: FiveTuple;
  username: string;
  key: Buffer;
  signed: Buffer[];
}

/** Runs the core target. */
export async function fuzzTurnCore(options: CoreFuzzOptions): Promise<FuzzResult> {
  const rng = new Prng(options.seed ?? 4);
  const engine = new MutationEngine(rng);
  const clock = { now: Date.UTC(2026, 0, 1) };
  const sink = new CountingSink(rng);
  const tally = new FuzzTally();
  const secrets = new SecretRing(['fuzz-secret', 'old-fuzz-secret']);
  const nonces = new NonceFactory(Buffer.alloc(32, 9));
  const filter = new PeerFilter({ allowLoopback: true });
  const authorize = (tenant: string): AuthDecision | Promise<AuthDecision> => {
    if (tenant === 'banned') return { allowed: false, reason: 'support ended' };
    if (tenant === 'later') return Promise.resolve({ allowed: true, maxAllocations: 3 });
    if (tenant === 'broken') return Promise.reject(new Error('store down'));
    return { allowed: true, maxAllocations: 64 };
  };
  const server = new TurnServer({
    realm: REALM,
    software: 'icegate-fuzz',
    secrets,
    nonces,
    clock: () => clock.now,
    policy: { authorize, checkPeer: (address) => filter.check(address) },
    events: {
      requestAnswered: (method, code) => tally.outcome(answerName(method, code)),
      packetDropped: (reason) => tally.outcome(`drop ${reason}`),
      allocationCreated: () => tally.outcome('allocation created'),
      allocationDeleted: (_a, reason) => tally.outcome(`allocation ended: ${reason}`),
      permissionDenied: () => tally.outcome('permission denied'),
    },
    limits: { maxPermissionsPerAllocation: 16, maxChannelsPerAllocation: 16 },
    relayFamilies: ['IPv4', 'IPv6'],
    sink,
  });
  sink.server = server;

  const tenants = ['acme', 'beta', 'banned', 'later', 'broken'];
  const clients: FuzzClient[] = [];
  for (let i = 0; i < 10; i++) {
    const tenant = tenants[i % tenants.length]!;
    const minted = mintCredential(secrets, { tenant, ttlSeconds: 7 * 24 * 3600, now: clock.now });
    const transport = i % 3 === 2 ? 'tcp' : 'udp';
    const tuple = new FiveTuple(
      transport,
      { family: 'IPv4', address: `203.0.113.${1 + (i % 4)}`, port: 40000 + i },
      SERVER,
    );
    clients.push({
      tuple,
      username: minted.username,
      key: longTermKey(minted.username, REALM, minted.password),
      signed: [],
    });
  }
  const resignSeeds = (): void => {
    for (const client of clients) {
      client.signed = generatedSeeds({
        username: client.username,
        realm: REALM,
        nonce: nonces.issue(client.tuple.clientKey, clock.now),
        key: client.key,
      });
    }
  };
  resignSeeds();
  const unsigned = unsignedCorpus();
  const peers: TransportAddress[] = [
    { family: 'IPv4', address: '127.0.0.1', port: 9 },
    { family: 'IPv4', address: '127.0.0.1', port: 7 },
    { family: 'IPv4', address: '127.0.0.2', port: 9 },
  ];

  const step = (i: number): void => {
    if (i % 1000 === 999) {
      clock.now += 1 + rng.int(3000);
      server.tick();
      if (server.allocationCount > sink.open.size) {
        tally.violation(`${server.allocationCount} allocations but ${sink.open.size} open relays`);
      }
    }
    if (i % 20_000 === 0) resignSeeds();
    const client = rng.pick(clients);
    const roll = rng.int(100);
    let input: Buffer;
    if (roll < 8) {
      input = rng.bytes(rng.int(rng.chance(0.9) ? 120 : 1500));
    } else if (roll < 25) {
      input = engine.mutate(rng.pick(unsigned), { corpus: unsigned });
    } else if (roll < 70) {
      input = engine.mutateSigned(rng.pick(client.signed), client.key, client.signed);
    } else if (roll < 80) {
      input = engine.mutate(rng.pick(client.signed), { corpus: client.signed });
    } else if (roll < 93) {
      input = rng.pick(client.signed);
    } else {
      const data = rng.chance(0.5)
        ? rng.bytes(rng.int(200))
        : engine.mutate(rng.pick(unsigned), { corpus: unsigned });
      const open = [...sink.open];
      const relayId = open.length > 0 && rng.chance(0.8) ? rng.pick(open) : 1_000_000 + rng.int(10);
      try {
        server.handlePeerPacket(relayId, rng.pick(peers), data);
      } catch (error) {
        tally.exception(error, data);
      }
      return;
    }
    try {
      server.handleClientPacket(client.tuple, input);
    } catch (error) {
      tally.exception(error, input);
    }
    if (rng.int(5000) === 0) server.clientGone(client.tuple);
  };

  // Async answers (late relays, promised authorize) land between batches.
  const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
  const result = await runFuzz('core: TurnServer', options.inputs, tally, step, { batch: 1000, settle });
  // Every lifetime over: nothing may be left (no allocation, no relay, no reservation).
  const liveAtEnd = server.allocationCount;
  clock.now += 4 * 3600 * 1000;
  server.tick();
  await settle();
  server.tick();
  if (server.allocationCount !== 0 || sink.open.size !== 0) {
    tally.violation(`after expiry: ${server.allocationCount} allocations, ${sink.open.size} relays open`);
  }
  server.close();
  result.violations = tally.violations;
  result.firstViolation = tally.firstViolation;
  result.mutations = engine.report();
  result.notes = [
    `${liveAtEnd} allocations live at the end of the run, 0 allocations and 0 relays left after every lifetime ran out`,
    `${sink.packetsToPeer} packets relayed to peers, ${sink.bytesToClient} bytes sent to clients`,
  ];
  return result;
}
