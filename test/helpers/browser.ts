// Headless Chromium for tests (TESTING.md): the launch flags that work on these machines, and an
// in-page routine that connects two relay-only RTCPeerConnections through one TURN URL.
import { type Browser, chromium } from 'playwright-core';

/** The Chromium the tests drive: CHROMIUM_PATH, else Debian's /usr/bin/chromium (scripts/test-setup.mjs checks it). */
export const CHROMIUM_PATH = process.env['CHROMIUM_PATH'] || '/usr/bin/chromium';

/** Launches Chromium headless; self-signed TURN/TLS certificates are accepted. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--ignore-certificate-errors',
    ],
  });
}

// The few WebRTC types the in-page routines use (relayPair here, stress/lib/page-call.ts): the
// project compiles without the DOM library; in the page these are the browser's globals.
interface PageIceCandidateEvent {
  candidate: unknown;
}
export interface PageDataChannel {
  readyState: string;
  onopen: (() => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  send(data: string): void;
}
interface PageStat {
  type: string;
  [key: string]: string | number | undefined;
}
export interface PagePeerConnection {
  onicecandidate: ((event: PageIceCandidateEvent) => void) | null;
  ondatachannel: ((event: { channel: PageDataChannel }) => void) | null;
  localDescription: unknown;
  addIceCandidate(candidate: unknown): Promise<void>;
  createDataChannel(label: string): PageDataChannel;
  createOffer(): Promise<unknown>;
  createAnswer(): Promise<unknown>;
  setLocalDescription(description: unknown): Promise<void>;
  setRemoteDescription(description: unknown): Promise<void>;
  getStats(): Promise<Map<string, PageStat>>;
  close(): void;
}
/** One entry of RTCConfiguration.iceServers. */
export interface PageIceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}
/**
 * The page's RTCPeerConnection constructor, relay-only. A page routine declares its own
 * `declare const RTCPeerConnection: PagePeerConnectionClass` (a type import is erased; a value
 * import would not exist in the page).
 */
export type PagePeerConnectionClass = new (config: {
  iceServers: PageIceServer[];
  iceTransportPolicy: 'relay';
}) => PagePeerConnection;
declare const RTCPeerConnection: PagePeerConnectionClass;

/** What relayPair reports from the page. */
export interface RelayPairResult {
  /** Messages received by the answering peer, in order. */
  received: string[];
  /** The selected pair's local candidate on the offering side. */
  local: { candidateType: string; relayProtocol?: string; protocol: string; address?: string } | null;
  /** The selected pair's remote candidate type. */
  remoteType: string | null;
  error?: string;
}

/** Arguments of relayPair (serialisable: it runs in the page). */
export interface RelayPairArgs {
  iceServers: { urls: string[]; username?: string; credential?: string }[];
  messages: string[];
  timeoutMs: number;
}

/**
 * Runs in the page: two RTCPeerConnections with iceTransportPolicy 'relay' exchange `messages`
 * over a data channel, then read the selected candidate pair from getStats().
 */
export async function relayPair(args: RelayPairArgs): Promise<RelayPairResult> {
  const config = { iceServers: args.iceServers, iceTransportPolicy: 'relay' as const };
  const a = new RTCPeerConnection(config);
  const b = new RTCPeerConnection(config);
  const received: string[] = [];
  try {
    a.onicecandidate = (e) => {
      if (e.candidate) void b.addIceCandidate(e.candidate);
    };
    b.onicecandidate = (e) => {
      if (e.candidate) void a.addIceCandidate(e.candidate);
    };
    const done = new Promise<void>((resolve) => {
      b.ondatachannel = (e) => {
        e.channel.onmessage = (m) => {
          received.push(String(m.data));
          if (received.length === args.messages.length) resolve();
        };
      };
    });
    const channel = a.createDataChannel('relay-check');
    const opened = new Promise<void>((resolve) => {
      channel.onopen = () => resolve();
    });
    await a.setLocalDescription(await a.createOffer());
    await b.setRemoteDescription(a.localDescription);
    await b.setLocalDescription(await b.createAnswer());
    await a.setRemoteDescription(b.localDescription);
    const timeout = new Promise<never>((_resolve, reject) =>
      setTimeout(() => reject(new Error('timed out')), args.timeoutMs),
    );
    await Promise.race([opened, timeout]);
    for (const m of args.messages) channel.send(m);
    await Promise.race([done, timeout]);
    const stats = await a.getStats();
    let pairId: string | undefined;
    stats.forEach((s) => {
      if (s.type === 'transport' && typeof s.selectedCandidatePairId === 'string')
        pairId = s.selectedCandidatePairId;
    });
    const pair = pairId === undefined ? undefined : stats.get(pairId);
    const local = pair ? stats.get(String(pair.localCandidateId)) : undefined;
    const remote = pair ? stats.get(String(pair.remoteCandidateId)) : undefined;
    const text = (value: string | number | undefined) => (value === undefined ? undefined : String(value));
    return {
      received,
      local: local
        ? {
            candidateType: String(local.candidateType),
            relayProtocol: text(local.relayProtocol),
            protocol: String(local.protocol),
            address: text(local.address),
          }
        : null,
      remoteType: remote ? String(remote.candidateType) : null,
    };
  } catch (error) {
    return { received, local: null, remoteType: null, error: String(error) };
  } finally {
    a.close();
    b.close();
  }
}
