// ICE server URLs of the configured listeners (RFC 7064 stun: URIs, RFC 7065 turn:/turns:).
import { isIPv6 } from 'node:net';

/** One TURN listener clients can reach: plain UDP, plain TCP, or TLS over TCP. */
export interface TurnListener {
  transport: 'udp' | 'tcp' | 'tls';
  /** The advertised host: TURN_EXTERNAL_IP, or a DNS name (TLS needs the certificate's name). */
  host: string;
  port: number;
}

/** The URLs of the `iceServers` entries: STUN, and TURN in the order UDP, TCP, TLS. */
export interface IceUrls {
  stun: string[];
  turn: string[];
}

function hostPart(host: string): string {
  return isIPv6(host) ? `[${host}]` : host;
}

const ORDER = { udp: 0, tcp: 1, tls: 2 } as const;

/** Builds STUN and TURN URLs for `listeners`; only listeners that exist appear. */
export function iceUrlsOf(listeners: readonly TurnListener[]): IceUrls {
  const sorted = [...listeners].sort((a, b) => ORDER[a.transport] - ORDER[b.transport]);
  const turn = sorted.map((l) => {
    const where = `${hostPart(l.host)}:${l.port}`;
    // RFC 7065 section 3.1: turns: always runs over TCP (TLS); turn: names the transport.
    return l.transport === 'tls' ? `turns:${where}?transport=tcp` : `turn:${where}?transport=${l.transport}`;
  });
  // STUN Binding over UDP where there is a UDP listener (browsers send STUN over UDP only).
  const stun = [
    ...new Set(sorted.filter((l) => l.transport === 'udp').map((l) => `stun:${hostPart(l.host)}:${l.port}`)),
  ];
  return { stun, turn };
}
