// The peer-filtering suite: icegate with production peer filtering (no allowLoopback; its listen
// and relay addresses denied; TURN_ALLOWED_PEERS=127.0.0.2/32 for the control) over UDP, TCP and
// TLS, and optionally coturn 4.6.1 hardened as its documentation suggests, driven by the same client.
import type { PortBlock } from '../../test/helpers/ports.js';
import { makeTestCertificate } from '../../test/helpers/tls-cert.js';
import type { TurnTransport } from '../../test/helpers/turn-client.js';
import { COTURN_DENIED_PEER_RANGES, startCoturn } from './coturn.js';
import { bypasses, type CaseOutcome, PEER_CASES, runPeerTable, Sinks } from './peer-table.js';
import { table } from './report.js';
import { startSecurityHost } from './security-host.js';

/** Options of the suite. */
export interface PeerSuiteOptions {
  ports: PortBlock;
  /** Also run coturn (its listening port is ports.peer, its relays ports.peer+100..+199). */
  coturn: boolean;
}

/** Figures of the suite. */
export interface PeerSuiteResult {
  icegate: Record<TurnTransport, CaseOutcome[]>;
  coturn: CaseOutcome[] | null;
  coturnCommand: string | null;
  icegateBypasses: number;
  coturnBypasses: number | null;
  markdown: string;
}

/** Runs the table against icegate (and coturn). */
export async function peerFilterSuite(options: PeerSuiteOptions): Promise<PeerSuiteResult> {
  const sinks = await Sinks.open();
  const certificate = await makeTestCertificate();
  const icegate = {} as Record<TurnTransport, CaseOutcome[]>;
  let coturn: CaseOutcome[] | null = null;
  let coturnCommand: string | null = null;
  try {
    const host = await startSecurityHost({
      relayMin: options.ports.relayMin,
      relayMax: options.ports.relayMax,
      relayIp6: '::1',
      filter: { allow: ['127.0.0.2/32'] },
      tls: { certFile: certificate.certFile, keyFile: certificate.keyFile },
    });
    try {
      const relayed = (): number => [...host.counters.toPeers.values()].reduce((a, b) => a + b, 0);
      for (const transport of ['udp', 'tcp', 'tls'] as const) {
        icegate[transport] = await runPeerTable(
          {
            name: 'icegate',
            address: (t) => host.address(t),
            credential: () => host.credential('peers'),
            listenPort: host.address('udp').port,
            relayedCount: relayed,
          },
          transport,
          sinks,
        );
      }
    } finally {
      await host.close();
    }
    if (options.coturn) {
      const secret = 'coturn-peer-secret';
      const server = await startCoturn({
        port: options.ports.peer,
        minPort: options.ports.peer + 100,
        maxPort: options.ports.peer + 199,
        secret,
        extra: ['--allowed-peer-ip=127.0.0.2'],
      });
      coturnCommand = server.args
        .map((a) => (a.startsWith('--static-auth-secret=') ? '--static-auth-secret=…' : a))
        .join(' ');
      try {
        const { mintCredential, SecretRing } = await import('../../src/auth/index.js');
        const ring = new SecretRing([secret]);
        coturn = await runPeerTable(
          {
            name: 'coturn',
            address: () => ({ family: 'IPv4', address: '127.0.0.1', port: options.ports.peer }),
            credential: () => {
              const minted = mintCredential(ring, { tenant: 'peers', ttlSeconds: 600, now: Date.now() });
              return { username: minted.username, password: minted.password };
            },
            listenPort: options.ports.peer,
            controlApplicable: false,
          },
          'udp',
          sinks,
        );
      } finally {
        await server.close();
      }
    }
  } finally {
    sinks.close();
    await certificate.dispose();
  }
  const icegateBypasses = Object.values(icegate).reduce((n, o) => n + bypasses(o).length, 0);
  return {
    icegate,
    coturn,
    coturnCommand,
    icegateBypasses,
    coturnBypasses: coturn === null ? null : bypasses(coturn).length,
    markdown: peerMarkdown(icegate, coturn, coturnCommand),
  };
}

function cell(o: CaseOutcome | undefined): string {
  if (o === undefined) return '';
  const text = `${o.createPermission} / ${o.channelBind} / ${o.delivered}`;
  if (!o.applicable) return `${text} (n/a¹)`;
  return o.bypass ? `**${text} ✗**` : text;
}

/** The table: one row per destination, CreatePermission / ChannelBind / packets delivered per server and transport. */
export function peerMarkdown(
  icegate: Record<TurnTransport, CaseOutcome[]>,
  coturn: CaseOutcome[] | null,
  coturnCommand: string | null,
): string {
  const headers = ['destination', 'encoding', 'icegate UDP', 'icegate TCP', 'icegate TLS'];
  if (coturn !== null) headers.push('coturn 4.6.1 UDP');
  const rows = PEER_CASES.map((c, i) => {
    const row = [
      c.target,
      `\`${c.address}\` (${c.encoding})`,
      cell(icegate.udp?.[i]),
      cell(icegate.tcp?.[i]),
      cell(icegate.tls?.[i]),
    ];
    if (coturn !== null) row.push(cell(coturn[i]));
    return row;
  });
  const count = (o: readonly CaseOutcome[] | undefined): number => (o === undefined ? 0 : bypasses(o).length);
  const lines = [
    'Each cell: CreatePermission answer / ChannelBind answer / packets that reached a loopback sink after a Send indication and a ChannelData message (127.0.0.1 and ::1 sinks; 127.0.0.2 for the control). **✗** marks a bypass: a denied destination permitted, bound or reached (for the control: not reached).',
    '',
    table(headers, rows),
    '',
    `icegate bypasses: UDP ${count(icegate.udp)}, TCP ${count(icegate.tcp)}, TLS ${count(icegate.tls)}; packets icegate handed to a relay socket for a denied destination: ${Object.values(
      icegate,
    )
      .flat()
      .filter((o) => o.case.control !== true)
      .reduce((n, o) => n + (o.relayed ?? 0), 0)}.`,
  ];
  if (coturn !== null) {
    lines.push(
      '',
      '¹ coturn refuses every loopback peer unless started with --allow-loopback-peers, before looking at allowed-peer-ip, so the loopback control cannot run against it.',
      '',
      `coturn bypasses (UDP): ${count(coturn)}. coturn matches an IPv6 peer only against IPv6 ranges, so its IPv4 ranges do not cover the same IPv4 address embedded in an IPv6 one (IPv4-mapped, IPv4-compatible, SIIT, 6to4, NAT64, Teredo). Its relay socket here is bound to ::1, which cannot send to IPv4-mapped addresses, so those permissions delivered nothing on this machine; a relay bound to a dual-stack address (or with a NAT64/6to4 route) would deliver them. Listing every IPv6 encoding range in denied-peer-ip as well would close these holes by hand.`,
      '',
      `coturn command line: \`${coturnCommand}\` (its denied ranges: ${COTURN_DENIED_PEER_RANGES.join(', ')}).`,
    );
  }
  return lines.join('\n');
}
