// Outages under load (issue 7): a whole node reaches Redis and PostgreSQL through TCP proxies the
// suite cuts and restores (the machine's servers keep running). Throughout, bounded load runs:
// credential requests, paced relaying on live allocations, new Allocates, order imports and
// self-service key reissues. Per phase the suite counts what each answered; afterwards every
// acknowledged write must be in the store (and no refused reissue may have taken effect), and
// everything must work again without a restart. Reissues are retried as a client should: a fresh
// Idempotency-Key per reissue meant, the same key, server and old key on every retry after an
// error, so a reissue whose answer was lost (COMMIT reply cut off) is answered on retry.
import { randomUUID } from 'node:crypto';
import { mintCredential, SecretRing } from '../../src/auth/index.js';
import { credentialOpaque } from '../../src/http/index.js';
import type { PortBlock } from '../../test/helpers/ports.js';
import { TurnClient } from '../../test/helpers/turn-client.js';
import {
  admin,
  iceServers,
  keyIdOf,
  ordersAt,
  sharedServices,
  TEST_TURN_SECRET,
  tenantToken,
  tenantWithKey,
  turnCredential,
} from '../../test/integration/gate-harness.js';
import {
  proxyFor,
  TEST_DATABASE_URL,
  TEST_REDIS_URL,
  throughProxy,
} from '../../test/integration/http-harness.js';
import { echoPeer, type FullNode, startFullNode } from './full-node.js';
import { sleep, UncaughtCounter } from './resources.js';

/** The phases, in order. */
export const OUTAGE_PHASES = [
  'baseline',
  'redis cut',
  'redis back',
  'postgres cut',
  'postgres back',
] as const;
/** A phase. */
export type OutagePhase = (typeof OUTAGE_PHASES)[number];

/** What happened in one phase. */
export interface PhaseFigures {
  /** POST /v1/ice-servers answers, status (or status error) -> count. */
  credentials: Record<string, number>;
  /** New Allocates (with a credential minted from the shared secret), code -> count. */
  allocates: Record<string, number>;
  /** ChannelData sent on the live allocations, and echoes received. */
  relayed: { sent: number; echoed: number };
  /** Order imports, status -> count. */
  imports: Record<string, number>;
  /** Self-service reissues, status -> count. */
  reissues: Record<string, number>;
}

/** Figures of the suite. */
export interface OutageResult {
  phaseMs: number;
  phases: Record<OutagePhase, PhaseFigures>;
  /** Milliseconds from restoring each service to the first 200 from the credential endpoint. */
  recoveryMs: { redis: number | null; postgres: number | null };
  writes: {
    acknowledgedImports: number;
    importsMissingFromStore: string[];
    /** Imports answered with an error that are in the store anyway (applied, not acknowledged). */
    unacknowledgedButStored: number;
    acknowledgedReissues: number;
    /** Whether the last acknowledged key works and every earlier acknowledged key is revoked. */
    lastKeyWorks: boolean;
    earlierKeysRevoked: boolean;
  };
  liveAllocationsSurvived: boolean;
  /** Uncaught exceptions and unhandled rejections in the process during the run (must be 0). */
  uncaught: number;
  firstUncaught: string | null;
  logged: { redisDown: number; redisBack: number; storeDown: number; storeBack: number };
  /**
   * Every Redis and store health line, "phase: message (operation: error)", so a count that is
   * off says which operation failed when (the figures above stay the assertion).
   */
  healthLines: string[];
}

function bump(map: Record<string, number>, key: string): void {
  map[key] = (map[key] ?? 0) + 1;
}

function emptyFigures(): PhaseFigures {
  return { credentials: {}, allocates: {}, relayed: { sent: 0, echoed: 0 }, imports: {}, reissues: {} };
}

/** Runs the phases, each `phaseMs` long. */
export async function outages(options: { ports: PortBlock; phaseMs: number }): Promise<OutageResult> {
  // Proxies to the servers TEST_REDIS_URL and TEST_DATABASE_URL name, with their credentials.
  const redisProxy = proxyFor(TEST_REDIS_URL, 6379);
  const pgProxy = proxyFor(TEST_DATABASE_URL, 5432);
  await redisProxy.start();
  await pgProxy.start();
  const services = await sharedServices({
    redisUrl: throughProxy(TEST_REDIS_URL, redisProxy),
    databaseUrl: throughProxy(TEST_DATABASE_URL, pgProxy),
  });
  const peer = await echoPeer();
  const sessions: TurnClient[] = [];
  let full: FullNode | null = null;
  const uncaught = new UncaughtCounter().install();
  try {
    full = await startFullNode({
      ports: options.ports,
      env: services.env,
      redisPrefix: services.redisPrefix,
      lifetime: 600,
      // Fresh 1 s, then served stale 2 s more while the store is down, then 503.
      cachePolicy: { maxTtlMs: 1_000, negativeTtlMs: 1_000, staleIfErrorMs: 2_000 },
    });
    const node = full.node;
    const url = full.url;
    const steadyKey = await tenantWithKey(url, 'steady', ordersAt.active(Date.now(), 50));
    let rekeyKey = await tenantWithKey(url, 'rekey', ordersAt.active(Date.now(), 5));
    await tenantWithKey(url, 'writes', ordersAt.active(Date.now(), 5));
    const ring = new SecretRing([TEST_TURN_SECRET]);
    const turn = node.turnAddress();

    // Live allocations relaying throughout.
    for (let i = 0; i < 3; i++) {
      const { username, password } = turnCredential(
        (await iceServers(url, tenantToken(steadyKey, Date.now()))).body,
      );
      const session = await TurnClient.open({
        address: turn.address,
        port: turn.port,
        transport: 'udp',
        username,
        password,
        timeoutMs: 3000,
        inboxLimit: 0,
      });
      sessions.push(session);
      if ((await session.allocate()).code !== 200) throw new Error('live allocation refused');
      if (
        (await session.channelBind(0x4000, { family: 'IPv4', address: '127.0.0.1', port: peer.port }))
          .code !== 200
      ) {
        throw new Error('live channel refused');
      }
    }

    const phases = Object.fromEntries(OUTAGE_PHASES.map((p) => [p, emptyFigures()])) as Record<
      OutagePhase,
      PhaseFigures
    >;
    let phase: OutagePhase = 'baseline';
    // Where each phase starts in the node's log, to tell the phase of a health line afterwards.
    const phaseStarts: { at: number; phase: OutagePhase }[] = [{ at: 0, phase }];
    const enter = (next: OutagePhase) => {
      phase = next;
      phaseStarts.push({ at: full!.logger.lines.length, phase: next });
    };
    let stop = false;
    const acknowledgedImports: string[] = [];
    const refusedImports: string[] = [];
    const acknowledgedKeys: string[] = [rekeyKey];
    let importSeq = 0;
    let reissueSeq = 0;
    let lastCredentialOkAt = 0;

    // The self-service reissue the loop means, from its first attempt until it is settled.
    let pendingReissue: { oldKey: string; server: string; idempotencyKey: string } | null = null;
    // One attempt at the pending reissue; true once it is settled: 200 (the new key, or the same
    // key replayed) or a 4xx refusal. An error, a 5xx, a 429 or a lost answer leave it pending,
    // and the next attempt sends the same Idempotency-Key, server and old key.
    const attemptReissue = async (p: OutagePhase): Promise<boolean> => {
      const pending = pendingReissue;
      if (pending === null) return true;
      try {
        const response = await fetch(`${url}/v1/license-keys/reissue`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${tenantToken(pending.oldKey, Date.now())}`,
            'content-type': 'application/json',
            'idempotency-key': pending.idempotencyKey,
          },
          body: JSON.stringify({ server: pending.server }),
        });
        const body = (await response.json()) as { key?: string };
        bump(phases[p].reissues, String(response.status));
        if (response.status === 200 && body.key !== undefined) {
          // A replay answers the key of the original request: count each key once.
          if (!acknowledgedKeys.includes(body.key)) acknowledgedKeys.push(body.key);
          rekeyKey = body.key;
          pendingReissue = null;
          return true;
        }
        if (response.status >= 400 && response.status < 500 && response.status !== 429) {
          pendingReissue = null;
          return true;
        }
      } catch {
        bump(phases[p].reissues, 'error');
      }
      return false;
    };

    const loops = [
      // Credential requests.
      (async () => {
        while (!stop) {
          const p = phase;
          try {
            const answer = await iceServers(url, tenantToken(steadyKey, Date.now()));
            bump(
              phases[p].credentials,
              answer.status === 200 ? '200' : `${answer.status} ${answer.body.error ?? ''}`.trim(),
            );
            if (answer.status === 200) lastCredentialOkAt = Date.now();
          } catch (error) {
            bump(phases[p].credentials, `error ${(error as Error).message}`);
          }
          await sleep(100);
        }
      })(),
      // Paced relaying on the live allocations.
      (async () => {
        const payload = Buffer.alloc(160, 0x62);
        while (!stop) {
          const p = phase;
          const before = sessions.reduce((n, s) => n + s.relayedIn, 0);
          for (let i = 0; i < 25 && !stop; i++) {
            for (const s of sessions) s.channelData(0x4000, payload);
            phases[p].relayed.sent += sessions.length;
            await sleep(20);
          }
          await sleep(100);
          phases[p].relayed.echoed += sessions.reduce((n, s) => n + s.relayedIn, 0) - before;
        }
      })(),
      // New allocations, each with a credential minted from the shared secret (no HTTP needed).
      (async () => {
        while (!stop) {
          const p = phase;
          const minted = mintCredential(ring, {
            tenant: 'steady',
            ttlSeconds: 600,
            now: Date.now(),
            opaque: credentialOpaque(ring, 'steady', keyIdOf(steadyKey)),
          });
          const session = await TurnClient.open({
            address: turn.address,
            port: turn.port,
            transport: 'udp',
            username: minted.username,
            password: minted.password,
            timeoutMs: 3000,
            inboxLimit: 0,
          });
          try {
            const answer = await session.allocate();
            bump(phases[p].allocates, String(answer.code));
            if (answer.code === 200) await session.refresh(0);
          } finally {
            await session.close();
          }
          await sleep(400);
        }
      })(),
      // Writes: order imports from three writers (so a cut often finds a transaction open), and
      // now and then a self-service key reissue.
      ...[0, 1, 2].map(async (writer) => {
        await sleep(writer * 80);
        while (!stop) {
          const p = phase;
          const id = `w-${++importSeq}`;
          try {
            const answer = await admin<{ accepted?: string[] }>(url, 'POST', '/v1/admin/orders', {
              tenant: 'writes',
              orders: [{ id, kind: 'additional', receivedAt: new Date().toISOString(), licenses: 1 }],
            });
            bump(phases[p].imports, String(answer.status));
            if (answer.status === 200 && (answer.body.accepted ?? []).includes(id))
              acknowledgedImports.push(id);
            else refusedImports.push(id);
          } catch {
            bump(phases[p].imports, 'error');
            refusedImports.push(id);
          }
          await sleep(250);
        }
      }),
      (async () => {
        while (!stop) {
          pendingReissue ??= {
            oldKey: rekeyKey,
            server: `neo-${++reissueSeq}.rekey.example.jp`,
            idempotencyKey: randomUUID(),
          };
          await attemptReissue(phase);
          await sleep(1000);
        }
      })(),
    ];

    const recoveryMs: OutageResult['recoveryMs'] = { redis: null, postgres: null };
    const untilCredentialOk = async (since: number): Promise<number | null> => {
      const deadline = since + 30_000;
      while (Date.now() < deadline) {
        if (lastCredentialOkAt > since) return lastCredentialOkAt - since;
        await sleep(50);
      }
      return null;
    };
    await sleep(options.phaseMs);
    enter('redis cut');
    await redisProxy.cut();
    await sleep(options.phaseMs);
    enter('redis back');
    await redisProxy.restore();
    recoveryMs.redis = await untilCredentialOk(Date.now());
    await sleep(options.phaseMs);
    enter('postgres cut');
    // The cut lands while writes are in flight: six writers in tight loops from 200 ms before it
    // to 200 ms after (PostgreSQL going away mid-transaction is the case that matters).
    let bursting = true;
    const burst = Array.from({ length: 6 }, async () => {
      while (bursting) {
        const id = `w-${++importSeq}`;
        try {
          const answer = await admin<{ accepted?: string[] }>(url, 'POST', '/v1/admin/orders', {
            tenant: 'writes',
            orders: [{ id, kind: 'additional', receivedAt: new Date().toISOString(), licenses: 1 }],
          });
          bump(phases['postgres cut'].imports, String(answer.status));
          if (answer.status === 200 && (answer.body.accepted ?? []).includes(id))
            acknowledgedImports.push(id);
          else refusedImports.push(id);
        } catch {
          bump(phases['postgres cut'].imports, 'error');
          refusedImports.push(id);
        }
      }
    });
    await sleep(200);
    await pgProxy.cut();
    await sleep(200);
    bursting = false;
    await Promise.all(burst);
    await sleep(options.phaseMs);
    enter('postgres back');
    const restoredAt = Date.now();
    await pgProxy.restore();
    recoveryMs.postgres = await untilCredentialOk(restoredAt);
    await sleep(options.phaseMs);
    stop = true;
    await Promise.all(loops);
    // A reissue still pending at the stop (its answer lost, say) is finished now that both
    // services are back, so the last acknowledged key is the one the store holds in force.
    const settleBy = Date.now() + 30_000;
    while (!(await attemptReissue(phase)) && Date.now() < settleBy) await sleep(250);

    // The writes, checked in the store after everything is back.
    const history = await node.store.orderHistory('writes');
    const stored = new Set((history?.orders ?? []).map((o) => o.id));
    const lastWorks = (await iceServers(url, tenantToken(rekeyKey, Date.now()))).status === 200;
    let earlierRevoked = true;
    for (const key of acknowledgedKeys.slice(0, -1)) {
      const answer = await iceServers(url, tenantToken(key, Date.now()));
      if (answer.status !== 401) earlierRevoked = false;
    }
    const lines = (text: string) => full!.logger.matching(text).length;
    return {
      phaseMs: options.phaseMs,
      phases,
      recoveryMs,
      writes: {
        acknowledgedImports: acknowledgedImports.length,
        importsMissingFromStore: acknowledgedImports.filter((id) => !stored.has(id)),
        unacknowledgedButStored: refusedImports.filter((id) => stored.has(id)).length,
        acknowledgedReissues: acknowledgedKeys.length - 1,
        lastKeyWorks: lastWorks,
        earlierKeysRevoked: earlierRevoked,
      },
      liveAllocationsSurvived: node.relay.core.listAllocations('steady').length >= sessions.length,
      uncaught: uncaught.count,
      firstUncaught: uncaught.first,
      healthLines: full!.logger.lines.flatMap((line, index) => {
        if (!/^(redis|entitlement store) (unreachable|reachable again)/.test(line.message)) return [];
        const during = phaseStarts.filter((p) => p.at <= index).at(-1)?.phase ?? 'baseline';
        const { operation, error } = line.fields;
        const cause = error === undefined ? '' : ` (${String(operation ?? 'store')}: ${String(error)})`;
        return [`${during}: ${line.message}${cause}`];
      }),
      logged: {
        redisDown: lines('redis unreachable'),
        redisBack: lines('redis reachable again'),
        storeDown: lines('entitlement store unreachable'),
        storeBack: lines('entitlement store reachable again'),
      },
    };
  } finally {
    uncaught.uninstall();
    await Promise.all(sessions.map((s) => s.close()));
    await full?.close();
    peer.close();
    await redisProxy.close();
    await pgProxy.close();
    await services.dispose();
  }
}
