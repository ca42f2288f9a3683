// Phase 1: relay throughput. For each offered load, each server in turn (interleaved, so slow
// drift in the machine's load spreads over all of them): a fresh server, a fresh echo peer
// (turnutils_peer), one uclient run; the server's CPU time read from /proc before and after.
//
// Relayed packets = 2 x echoed messages received back by uclient (client->peer and peer->client
// legs of each one). Packets lost on the way are not counted, so their cost is charged to the
// delivered ones; that is why loss is printed beside the cost, and why costs compare only at
// similar loss.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { sleep, startChild } from './child-processes.mjs';
import { summariseProfile } from './cpu-profile-summary.mjs';
import { takeFreePort } from './ports.mjs';
import {
  cpuSeconds,
  cpuSecondsByThread,
  machineLoad,
  rssKiB,
  threadCpuDelta,
  udpSocketDrops,
} from './proc-stats.mjs';
import { probeRelay } from './relay-capability.mjs';
import { restCredential } from './rest-credential.mjs';
import { launch } from './targets.mjs';
import { runUclient } from './uclient-run.mjs';
import { DEFAULT_WARM_SESSIONS, warmUp } from './warm-up.mjs';

/** The offered loads (TESTING.md flags). */
const UDP_LOADS = Object.freeze({
  full: [
    {
      id: 'paced',
      label: '50 clients x 50 pkt/s, 160 B',
      clients: 50,
      messages: 1000,
      length: 160,
      intervalMs: 20,
    },
    {
      id: 'saturating',
      label: '10 clients unpaced, 120 B',
      clients: 10,
      messages: 20000,
      length: 120,
      intervalMs: 0,
    },
  ],
  quick: [
    {
      id: 'paced',
      label: '20 clients x 50 pkt/s, 160 B',
      clients: 20,
      messages: 150,
      length: 160,
      intervalMs: 20,
    },
    {
      id: 'saturating',
      label: '4 clients unpaced, 120 B',
      clients: 4,
      messages: 2000,
      length: 120,
      intervalMs: 0,
    },
  ],
});

/**
 * The same loads with the client-to-server leg over TCP (uclient `-t`) and over TLS (`-t -S`);
 * the server-to-peer leg stays UDP (a TURN allocation relays UDP whatever the client's transport).
 */
function overStreams(loads) {
  return loads.flatMap((load) => [
    { ...load, id: `tcp-${load.id}`, label: `${load.label}, TCP`, transport: 'tcp' },
    { ...load, id: `tls-${load.id}`, label: `${load.label}, TLS`, transport: 'tls' },
  ]);
}

/** The offered loads (TESTING.md flags): UDP first, then TCP and TLS. */
export const LOADS = Object.freeze({
  full: [...UDP_LOADS.full, ...overStreams(UDP_LOADS.full)],
  quick: [...UDP_LOADS.quick, ...overStreams(UDP_LOADS.quick)],
});

/** The client transport of a load: 'udp' unless it says otherwise. */
export const transportOf = (load) => load.transport ?? 'udp';

async function startPeer() {
  const port = await takeFreePort(2);
  const child = startChild('turnutils_peer', 'turnutils_peer', ['-L', '127.0.0.1', '-p', String(port)], {
    timeoutMs: 300_000,
  });
  await sleep(200);
  return { child, port };
}

function credentialFor(auth) {
  return auth.secret !== undefined ? restCredential(auth.secret, auth.tenant) : auth;
}

/** Probes each target once on a server of its own; returns {targetId: capability}. */
async function probeAll(targets, options) {
  const capabilities = {};
  for (const target of targets) {
    let server = null;
    try {
      server = await launch(target, options);
      capabilities[target.id] = await probeRelay(
        { address: '127.0.0.1', port: server.port },
        credentialFor(server.auth('acme')),
      );
    } catch (err) {
      capabilities[target.id] = { error: String(err.message ?? err) };
    } finally {
      await server?.child.stop();
    }
  }
  return capabilities;
}

/** Why uclient cannot be used on a server, from its probe; null when it can. */
export function uclientBlocker(capability) {
  if (capability === undefined) return 'not probed';
  if (capability.allocateAsUclient !== true) {
    const plain = capability.allocatePlain
      ? `; without that attribute it allocates, relays Send indications ${capability.sendIndication?.toPeer ? 'both ways' : 'no'}, and client ChannelData ${capability.channel?.toPeer ? 'yes' : 'not at all'}`
      : '';
    return `cannot serve turnutils_uclient: no answer to an Allocate carrying REQUESTED-ADDRESS-FAMILY (sent by uclient 4.6.1)${plain}`;
  }
  if (capability.channel?.toPeer !== true) return 'relays no client ChannelData';
  return null;
}

/** Most CPU a server at rest may use per second before the load starts (two clock ticks). */
const QUIET_CPU_PER_SECOND = 0.02;
/** Longest wait for a server to come to rest; the load starts then regardless (and says so). */
const QUIET_WAIT_LIMIT_MS = 20_000;

/**
 * Waits until the server is at rest: a freshly started runtime keeps compiling and collecting
 * garbage for a few seconds after it answers its first Binding (icegate's Node process about
 * 0.1 s of CPU in the 3 to 10 s after start, the floor's less, coturn none), work that belongs to
 * no relayed packet. Every server gets the same treatment: the load starts once one second passes
 * with at most QUIET_CPU_PER_SECOND of CPU, or after QUIET_WAIT_LIMIT_MS.
 */
async function waitUntilQuiet(pid) {
  const started = performance.now();
  let previous = cpuSeconds(pid);
  while (previous !== null && performance.now() - started < QUIET_WAIT_LIMIT_MS) {
    await sleep(1000);
    const now = cpuSeconds(pid);
    if (now === null) break;
    const used = now - previous;
    previous = now;
    if (used <= QUIET_CPU_PER_SECOND) {
      return { waitedMs: Math.round(performance.now() - started), quiet: true, lastSecondCpu: used };
    }
  }
  return { waitedMs: Math.round(performance.now() - started), quiet: false };
}

async function measureOnce(target, load, options) {
  const peer = await startPeer();
  let server = null;
  const transport = transportOf(load);
  try {
    server = await launch(target, transport === 'tls' ? options : { ...options, tls: undefined });
    await sleep(300);
    const warm = await warmUp(
      { address: '127.0.0.1', port: server.port },
      credentialFor(server.auth('acme')),
      peer.port,
      { sessions: options.warmSessions },
    );
    const settle = await waitUntilQuiet(server.child.pid);
    const loadBefore = machineLoad();
    const loadStartMs = Math.round(performance.now() - server.child.startedAt);
    const cpuBefore = cpuSeconds(server.child.pid);
    const threadsBefore = cpuSecondsByThread(server.child.pid);
    const rssBefore = rssKiB(server.child.pid);
    const figures = await runUclient({
      port: transport === 'tls' ? server.tlsPort : server.port,
      transport,
      peerPort: peer.port,
      load,
      auth: server.auth('acme'),
    });
    const cpuAfter = cpuSeconds(server.child.pid);
    const threadsAfter = cpuSecondsByThread(server.child.pid);
    const drops = udpSocketDrops(server.child.pid);
    const rssAfter = rssKiB(server.child.pid);
    const loadAfter = machineLoad();
    const relayed = figures.received === null ? null : 2 * figures.received;
    const cpu = cpuBefore === null || cpuAfter === null ? null : cpuAfter - cpuBefore;
    return {
      target: target.id,
      load: load.id,
      ...figures,
      args: figures.args.map((a) => (a === options.secret ? '<secret>' : a)),
      relayedPackets: relayed,
      serverCpuSeconds: cpu === null ? null : Math.round(cpu * 1000) / 1000,
      // CPU seconds per million relayed packets, numerically the same as microseconds per packet.
      cpuSecondsPerMillionPackets:
        cpu !== null && relayed ? Math.round((cpu / relayed) * 1e6 * 100) / 100 : null,
      serverCpuSecondsByThread: threadCpuDelta(threadsBefore, threadsAfter),
      serverSocketDrops: drops.drops,
      serverUdpSockets: drops.sockets,
      serverRssKiB: { before: rssBefore, after: rssAfter },
      machineLoad: { before: loadBefore, after: loadAfter },
      notes: server.notes ?? [],
      loadStartMs,
      warmUp: warm,
      settle,
    };
  } finally {
    await server?.child.stop();
    await peer.child.stop();
  }
}

function newestProfile(dir, since) {
  try {
    const files = readdirSync(dir)
      .filter((f) => f.endsWith('.cpuprofile'))
      .map((f) => ({ f, t: statSync(join(dir, f)).mtimeMs }))
      .filter((x) => x.t >= since)
      .sort((a, b) => b.t - a.t);
    return files[0] ? join(dir, files[0].f) : null;
  } catch {
    return null;
  }
}

/**
 * Runs phase 1. Returns {capabilities, runs, skipped, profiles}. `options`: {targets, loads,
 * repeat, secret, tmpDir, profile, profileDir, log}.
 */
export async function relayPhase({
  targets,
  loads,
  repeat = 1,
  secret,
  tmpDir,
  profile,
  profileDir,
  log,
  warmSessions = DEFAULT_WARM_SESSIONS,
  tls,
}) {
  const launchOptions = { secret, tmpDir, warmSessions, tls };
  log('relay: probing what each server can relay');
  const capabilities = await probeAll(targets, { ...launchOptions, tls: undefined });
  const runnable = [];
  const skipped = [];
  for (const target of targets) {
    const blocker = uclientBlocker(capabilities[target.id]);
    if (blocker === null) runnable.push(target);
    else skipped.push({ target: target.id, reason: blocker });
  }
  const runs = [];
  for (const load of loads) {
    for (let round = 0; round < repeat; round += 1) {
      for (const target of runnable) {
        if (!(target.transports ?? ['udp']).includes(transportOf(load))) {
          if (round === 0) {
            skipped.push({ target: target.id, load: load.id, reason: `no ${transportOf(load)} listener` });
          }
          continue;
        }
        log(`relay: ${load.id} load on ${target.id}${repeat > 1 ? ` (round ${round + 1})` : ''}`);
        try {
          runs.push(await measureOnce(target, load, launchOptions));
        } catch (err) {
          runs.push({ target: target.id, load: load.id, error: String(err.message ?? err) });
        }
      }
    }
  }
  const profiles = [];
  if (profile) {
    const profiled = runnable.filter((t) => t.id.startsWith('icegate') || t.id === 'floor');
    for (const load of loads) {
      for (const target of profiled.filter((t) => (t.transports ?? ['udp']).includes(transportOf(load)))) {
        log(`relay: profiling ${target.id} under the ${load.id} load (not used for the figures)`);
        const since = Date.now();
        try {
          const run = await measureOnce(target, load, { ...launchOptions, profileDir });
          const file = newestProfile(profileDir, since - 1000);
          // Only the samples from the start of the load on: start-up and warm-up are not the relay's cost.
          const top = file ? summariseProfile(file, 15, { fromMs: run.loadStartMs }) : null;
          profiles.push({
            target: target.id,
            load: load.id,
            file,
            top,
            cpuSecondsPerMillionPackets: run.cpuSecondsPerMillionPackets,
          });
        } catch (err) {
          profiles.push({ target: target.id, load: load.id, error: String(err.message ?? err) });
        }
      }
    }
  }
  return { capabilities, runs, skipped, profiles };
}
