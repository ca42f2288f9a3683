// Typed view of the native packet classifier (RFC 7983 §7 demultiplexing, RFC 8656 §12.4 framing).
import type { NativeAddon } from './native-addon.js';

/** What a datagram on the TURN listening port is. */
export type PacketKind = 'stun' | 'channel-data' | 'invalid' | 'other';

/** Why a datagram that looked like STUN or ChannelData was rejected. */
export type InvalidReason = 'too-short' | 'bad-cookie' | 'bad-stun-length' | 'channel-truncated';

/** The classifier's verdict; `channel` and `length` are meaningful for ChannelData (length also for STUN). */
export interface PacketClass {
  kind: PacketKind;
  reason: InvalidReason | null;
  channel: number;
  length: number;
}

const KINDS: readonly PacketKind[] = ['stun', 'channel-data', 'invalid', 'other'];
const REASONS: readonly (InvalidReason | null)[] = [
  null,
  'too-short',
  'bad-cookie',
  'bad-stun-length',
  'channel-truncated',
];

/** Classifies one datagram with the same C++ function the native data path uses. */
export function classifyPacket(addon: NativeAddon, data: Uint8Array): PacketClass {
  const raw = addon.classify(data);
  const kind = KINDS[raw.kind];
  const reason = REASONS[raw.reason];
  if (kind === undefined || reason === undefined)
    throw new Error(`unknown classifier code ${raw.kind}/${raw.reason}`);
  return { kind, reason, channel: raw.channel, length: raw.length };
}

/** What the native path does with a datagram as a Send indication (RFC 8656 §11.4). */
export type SendIndicationParse =
  | { kind: 'relay'; peer: { ip: string; port: number }; dataOffset: number; dataLength: number }
  | { kind: 'not-send' }
  | { kind: 'to-control' };

/** Parses a Send indication with the same C++ function the native listener uses. */
export function parseSendIndication(addon: NativeAddon, data: Uint8Array): SendIndicationParse {
  const raw = addon.parseSendIndication(data);
  if (raw.result === 1) return { kind: 'not-send' };
  if (raw.result === 2) return { kind: 'to-control' };
  if (raw.result !== 0 || raw.ip === undefined || raw.port === undefined) {
    throw new Error(`unknown Send indication parse code ${raw.result}`);
  }
  return {
    kind: 'relay',
    peer: { ip: raw.ip, port: raw.port },
    dataOffset: raw.offset ?? 0,
    dataLength: raw.length ?? 0,
  };
}
