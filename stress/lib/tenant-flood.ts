// After authentication (issue 7): tenant A floods Allocates, permissions and channels and runs
// into its quotas (486 over its allocation quota, 508 over the permissions and channels one
// allocation may hold, 403 for denied peers), while tenant B relays through the same server with
// coturn's turnutils_uclient, paced, and must lose nothing. A never sends data (its peers are
// public addresses: permissions and channels install state only, nothing leaves the machine).
import { type ChildProcess, spawn } from 'node:child_process';
import { Attr, Method, type TransportAddress } from '../../src/stun/index.js';
import type { PortBlock } from '../../test/helpers/ports.js';
import { TurnClient } from '../../test/helpers/turn-client.js';
import { runUclient, uclientSummary } from '../../test/helpers/uclient.js';
import { sleep } from './resources.js';
import { startSecurityHost } from './security-host.js';

/** Options of the suite. */
export interface TenantFloodOptions {
  ports: PortBlock;
  /** Tenant B's uclient clients (-m) and messages each (-n). */
  clients: number;
  messages: number;
  /** Tenant A's allocation quota. */
  quota?: number;
}

/** Figures of the suite. */
export interface TenantFloodResult {
  flooder: {
    quota: number;
    /** Answers to A's requests, "method code" -> count. */
    answers: Record<string, number>;
    requests: number;
    allocationsHeld: number;
  };
  victim: {
    sent: number;
    received: number;
    lost: number;
    clients: number;
    messages: number;
    /** uclient's "Average round trip delay", ms. */
    averageRttMs: number | null;
  };
  seconds: number;
}

const FLOODER_IP = '127.0.0.3';
const PEER_IP = '127.0.0.5';
const SECRET = 'tenant-flood-secret';

function publicPeer(i: number): TransportAddress {
  // 1.0.0.0/8 and 2.0.0.0/8 are ordinary unicast space; nothing is ever sent to them.
  return { family: 'IPv4', address: `1.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, port: 9 };
}

/** Runs the flood and the paced relay side by side. */
export async function tenantFlood(options: TenantFloodOptions): Promise<TenantFloodResult> {
  const quota = options.quota ?? 20;
  const host = await startSecurityHost({
    relayMin: options.ports.relayMin,
    relayMax: options.ports.relayMax,
    secret: SECRET,
    filter: { allow: [`${PEER_IP}/32`] },
    policy: {
      // Production derives the quota from the licenses in force; here A gets `quota`, B plenty.
      authorize: (tenant) => ({ allowed: true, maxAllocations: tenant === 'flooder' ? quota : 100 }),
    },
  });
  const answers: Record<string, number> = {};
  let requests = 0;
  const count = (label: string, code: number): void => {
    requests++;
    answers[`${label} ${code}`] = (answers[`${label} ${code}`] ?? 0) + 1;
  };
  const sessions: TurnClient[] = [];
  let peer: ChildProcess | null = null;
  const started = Date.now();
  try {
    const udp = host.address('udp');
    peer = spawn('turnutils_peer', ['-L', PEER_IP, '-p', String(options.ports.peer)], { stdio: 'ignore' });
    await sleep(300);
    const open = async (): Promise<TurnClient> => {
      const { username, password } = host.credential('flooder');
      const session = await TurnClient.open({
        address: udp.address,
        port: udp.port,
        transport: 'udp',
        username,
        password,
        localAddress: FLOODER_IP,
        timeoutMs: 3000,
        rtoMs: 250,
        inboxLimit: 0,
      });
      sessions.push(session);
      return session;
    };
    let stop = false;
    const flooder = (async () => {
      // Allocations: three times the quota.
      const held: TurnClient[] = [];
      for (let i = 0; i < quota * 3; i++) {
        const session = await open();
        const response = await session.allocate();
        count('Allocate', response.code);
        if (response.code === 200) held.push(session);
      }
      const [permissions, channels, denied] = held;
      if (permissions === undefined || channels === undefined || denied === undefined) {
        throw new Error('the flooder could not allocate three times');
      }
      let round = 0;
      while (!stop) {
        // Permissions: ten peers a request, far past maxPermissionsPerAllocation.
        for (let r = 0; r < 5; r++) {
          const base = (round * 5 + r) * 10;
          const response = await permissions.request(Method.CreatePermission, (b) => {
            for (let k = 0; k < 10; k++) b.addXorAddress(Attr.XOR_PEER_ADDRESS, publicPeer(base + k));
          });
          count('CreatePermission', response.code);
        }
        // Channels: one each, past maxChannelsPerAllocation.
        for (let r = 0; r < 10; r++) {
          const n = (round * 10 + r) % 0x1000;
          const response = await channels.channelBind(0x4000 + n, publicPeer(0x20000 + n));
          count('ChannelBind', response.code);
        }
        // Denied peers.
        for (const address of ['127.0.0.1', '10.1.2.3', '169.254.169.254']) {
          const response = await denied.createPermission({ family: 'IPv4', address, port: 80 });
          count('CreatePermission (denied peer)', response.code);
        }
        // More Allocates over the quota.
        const extra = await open();
        count('Allocate', (await extra.allocate()).code);
        await extra.close();
        round++;
      }
      return held.length;
    })();
    // Tenant B, paced, while A floods.
    const victim = await runUclient({
      secret: SECRET,
      port: udp.port,
      peer: PEER_IP,
      peerPort: options.ports.peer,
      flags: ['-c', '-X'],
      clients: options.clients,
      messages: options.messages,
      timeoutMs: 120_000,
    });
    stop = true;
    const held = await flooder;
    const summary = uclientSummary(victim.output);
    const rtt = /Average round trip delay ([\d.]+) ms/.exec(victim.output);
    return {
      flooder: { quota, answers, requests, allocationsHeld: held },
      victim: {
        ...summary,
        clients: options.clients,
        messages: options.messages,
        averageRttMs: rtt === null ? null : Number(rtt[1]),
      },
      seconds: Math.round((Date.now() - started) / 100) / 10,
    };
  } finally {
    peer?.kill('SIGKILL');
    await Promise.all(sessions.map((s) => s.close()));
    await host.close();
  }
}
