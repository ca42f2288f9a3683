// The peer-filtering table of issue 7: denied destinations in every encoding, tried through
// CreatePermission, ChannelBind, Send indications and ChannelData, over any TURN server the
// TurnClient client speaks to (icegate over UDP, TCP and TLS; coturn for comparison). A UDP sink
// on 127.0.0.1 and one on ::1 count what arrives; an allowed control (127.0.0.2) proves the path
// works, so "nothing arrived" means "filtered", not "broken".
import dgram from 'node:dgram';
import { Attr, type TransportAddress } from '../../src/stun/index.js';
import { relayedAddress, TurnClient, type TurnTransport } from '../../test/helpers/turn-client.js';
import { sleep } from './resources.js';

/** One destination of the table. */
export interface PeerCase {
  /** What is being reached. */
  target: string;
  /** How the address is written. */
  encoding: string;
  family: TransportAddress['family'];
  address: string;
  /**
   * 'sink4' aims at the sink on 127.0.0.1 (also for IPv6 encodings of an IPv4 address, so a
   * relay that translates them would deliver there), 'sink6' at the one on ::1.
   */
  port: 'sink4' | 'sink6' | 'control' | 'listen' | 'own-relay';
  /** The control case must get through; every other case must not. */
  control?: boolean;
}

/** Teredo (RFC 4380 section 4): server IPv4, then the client's IPv4 and port, both inverted. */
function teredo(server: number[], client: number[]): string {
  const hex = (a: number, b: number): string => ((a << 8) | b).toString(16);
  const inv = client.map((b) => b ^ 0xff);
  return `2001:0:${hex(server[0]!, server[1]!)}:${hex(server[2]!, server[3]!)}:0:ffff:${hex(inv[0]!, inv[1]!)}:${hex(inv[2]!, inv[3]!)}`;
}

/** The destinations: IPv4 ones through an IPv4 relay, IPv6 and embedded-IPv4 ones through an IPv6 relay. */
export const PEER_CASES: readonly PeerCase[] = [
  {
    target: 'allowed control (TURN_ALLOWED_PEERS=127.0.0.2/32)',
    encoding: 'IPv4',
    family: 'IPv4',
    address: '127.0.0.2',
    port: 'control',
    control: true,
  },
  { target: 'loopback', encoding: 'IPv4', family: 'IPv4', address: '127.0.0.1', port: 'sink4' },
  { target: 'loopback', encoding: 'IPv4 (127/8)', family: 'IPv4', address: '127.1.2.3', port: 'sink4' },
  { target: 'this host', encoding: 'IPv4 unspecified', family: 'IPv4', address: '0.0.0.0', port: 'sink4' },
  { target: '"this network"', encoding: 'IPv4 0/8', family: 'IPv4', address: '0.1.2.3', port: 'sink4' },
  { target: 'server listen address', encoding: 'IPv4', family: 'IPv4', address: '127.0.0.1', port: 'listen' },
  {
    target: 'server relay address',
    encoding: 'IPv4',
    family: 'IPv4',
    address: '127.0.0.1',
    port: 'own-relay',
  },
  {
    target: 'broadcast',
    encoding: 'IPv4 limited broadcast',
    family: 'IPv4',
    address: '255.255.255.255',
    port: 'sink4',
  },
  { target: 'multicast', encoding: 'IPv4 multicast', family: 'IPv4', address: '224.0.0.1', port: 'sink4' },
  {
    target: 'multicast',
    encoding: 'IPv4 multicast (SSDP)',
    family: 'IPv4',
    address: '239.255.255.250',
    port: 'sink4',
  },
  { target: 'private', encoding: 'IPv4', family: 'IPv4', address: '10.0.0.1', port: 'sink4' },
  { target: 'private', encoding: 'IPv4', family: 'IPv4', address: '172.16.0.1', port: 'sink4' },
  { target: 'private', encoding: 'IPv4', family: 'IPv4', address: '192.168.1.1', port: 'sink4' },
  { target: 'CGNAT', encoding: 'IPv4', family: 'IPv4', address: '100.64.0.1', port: 'sink4' },
  {
    target: 'cloud metadata',
    encoding: 'IPv4 link-local',
    family: 'IPv4',
    address: '169.254.169.254',
    port: 'sink4',
  },
  { target: 'loopback', encoding: 'IPv6', family: 'IPv6', address: '::1', port: 'sink6' },
  { target: 'this host', encoding: 'IPv6 unspecified', family: 'IPv6', address: '::', port: 'sink6' },
  { target: 'loopback', encoding: 'IPv4-mapped', family: 'IPv6', address: '::ffff:127.0.0.1', port: 'sink4' },
  { target: 'loopback', encoding: 'IPv4-compatible', family: 'IPv6', address: '::127.0.0.1', port: 'sink4' },
  {
    target: 'loopback',
    encoding: 'IPv4-translated (SIIT)',
    family: 'IPv6',
    address: '::ffff:0:7f00:1',
    port: 'sink4',
  },
  { target: 'loopback', encoding: '6to4', family: 'IPv6', address: '2002:7f00:1::1', port: 'sink4' },
  { target: 'loopback', encoding: 'NAT64', family: 'IPv6', address: '64:ff9b::7f00:1', port: 'sink4' },
  {
    target: 'loopback',
    encoding: 'Teredo, client 127.0.0.1',
    family: 'IPv6',
    address: teredo([192, 0, 2, 9], [127, 0, 0, 1]),
    port: 'sink4',
  },
  {
    target: 'cloud metadata',
    encoding: 'IPv4-mapped',
    family: 'IPv6',
    address: '::ffff:169.254.169.254',
    port: 'sink4',
  },
  {
    target: 'cloud metadata',
    encoding: 'NAT64',
    family: 'IPv6',
    address: '64:ff9b::a9fe:a9fe',
    port: 'sink4',
  },
  { target: 'cloud metadata', encoding: '6to4', family: 'IPv6', address: '2002:a9fe:a9fe::1', port: 'sink4' },
  { target: 'private', encoding: 'IPv4-mapped', family: 'IPv6', address: '::ffff:10.0.0.1', port: 'sink4' },
  {
    target: 'private',
    encoding: 'Teredo, client 192.168.1.1',
    family: 'IPv6',
    address: teredo([192, 0, 2, 9], [192, 168, 1, 1]),
    port: 'sink4',
  },
  { target: 'server relay address', encoding: 'IPv6', family: 'IPv6', address: '::1', port: 'own-relay' },
  { target: 'multicast', encoding: 'IPv6 multicast', family: 'IPv6', address: 'ff02::1', port: 'sink4' },
  { target: 'link-local', encoding: 'IPv6', family: 'IPv6', address: 'fe80::1', port: 'sink4' },
  {
    target: 'unique local',
    encoding: "IPv6 (this host's eth0)",
    family: 'IPv6',
    address: 'fd00::2',
    port: 'sink4',
  },
  {
    target: 'link-local',
    encoding: 'ISATAP, 127.0.0.1',
    family: 'IPv6',
    address: 'fe80::5efe:7f00:1',
    port: 'sink4',
  },
];

/** What one method did for one destination. */
export interface CaseOutcome {
  case: PeerCase;
  transport: TurnTransport;
  createPermission: number;
  channelBind: number;
  /** Packets that reached a loopback sink after Send and ChannelData. */
  delivered: number;
  /** For icegate: packets the core handed to the relay socket for this destination. */
  relayed: number | null;
  /** True when a denied destination was permitted, bound or reached (or the control was not). */
  bypass: boolean;
  /** False for a control the server cannot run. */
  applicable: boolean;
}

/** The server under test. */
export interface PeerTableTarget {
  name: string;
  address(transport: TurnTransport): TransportAddress;
  credential(): { username: string; password: string };
  /** The server's own UDP listening port (for the 'listen' case). */
  listenPort: number;
  /** False when the server cannot run the loopback control (coturn refuses every loopback peer by default). */
  controlApplicable?: boolean;
  /** Packets the server handed to its relay sockets, towards any peer (icegate's tap); a loop to its own listener shows here too. */
  relayedCount?: () => number;
}

/** Loopback sinks that count datagrams. */
export class Sinks {
  readonly #sockets: dgram.Socket[] = [];
  count = 0;
  v4Port = 0;
  v6Port = 0;
  controlPort = 0;

  static async open(): Promise<Sinks> {
    const sinks = new Sinks();
    sinks.v4Port = await sinks.#bind('udp4', '127.0.0.1');
    sinks.v6Port = await sinks.#bind('udp6', '::1');
    sinks.controlPort = await sinks.#bind('udp4', '127.0.0.2');
    return sinks;
  }

  async #bind(type: 'udp4' | 'udp6', ip: string): Promise<number> {
    const socket = dgram.createSocket({ type, ipv6Only: type === 'udp6' });
    await new Promise<void>((resolve) => socket.bind(0, ip, () => resolve()));
    socket.on('message', () => {
      this.count++;
    });
    this.#sockets.push(socket);
    return socket.address().port;
  }

  close(): void {
    for (const s of this.#sockets) s.close();
  }
}

/** Runs every case over `transport` against `target`; sessions per family allocate once. */
export async function runPeerTable(
  target: PeerTableTarget,
  transport: TurnTransport,
  sinks: Sinks,
  cases: readonly PeerCase[] = PEER_CASES,
): Promise<CaseOutcome[]> {
  const outcomes: CaseOutcome[] = [];
  const sessions = new Map<TransportAddress['family'], { session: TurnClient; relay: TransportAddress }>();
  const where = target.address(transport);
  try {
    for (const family of ['IPv4', 'IPv6'] as const) {
      const { username, password } = target.credential();
      const session = await TurnClient.open({
        address: where.address,
        port: where.port,
        transport,
        username,
        password,
        inboxLimit: 0,
      });
      const allocated = await session.allocate((b) =>
        b.addAddressFamily(Attr.REQUESTED_ADDRESS_FAMILY, family),
      );
      if (allocated.code !== 200) {
        await session.close();
        throw new Error(
          `${target.name} ${transport}: ${family} Allocate answered ${allocated.code} ${allocated.reason}`,
        );
      }
      sessions.set(family, { session, relay: relayedAddress(allocated) });
    }
    let channel = 0x4000;
    for (const c of cases) {
      const { session, relay } = sessions.get(c.family)!;
      const ports = {
        sink4: sinks.v4Port,
        sink6: sinks.v6Port,
        control: sinks.controlPort,
        listen: target.listenPort,
        'own-relay': relay.port,
      };
      const port = ports[c.port];
      const peer: TransportAddress = { family: c.family, address: c.address, port };
      const beforeSinks = sinks.count;
      const beforeRelayed = target.relayedCount?.() ?? 0;
      const createPermission = (await session.createPermission(peer)).code;
      channel++;
      const channelBind = (await session.channelBind(channel, peer)).code;
      session.sendIndication(peer, Buffer.from(`send to ${c.encoding}`));
      session.channelData(channel, Buffer.from(`channel to ${c.encoding}`));
      await sleep(60);
      const delivered = sinks.count - beforeSinks;
      const relayed = target.relayedCount === undefined ? null : target.relayedCount() - beforeRelayed;
      const permitted = createPermission === 200 || channelBind === 200;
      const applicable = c.control !== true || target.controlApplicable !== false;
      const bypass = !applicable
        ? false
        : c.control === true
          ? !(permitted && delivered >= 2)
          : permitted || delivered > 0 || (relayed ?? 0) > 0;
      outcomes.push({
        case: c,
        transport,
        createPermission,
        channelBind,
        delivered,
        relayed,
        bypass,
        applicable,
      });
    }
  } finally {
    for (const { session } of sessions.values()) await session.close();
  }
  return outcomes;
}

/** Denied destinations that got through (the control excluded unless it failed). */
export function bypasses(outcomes: readonly CaseOutcome[]): CaseOutcome[] {
  return outcomes.filter((o) => o.bypass);
}
