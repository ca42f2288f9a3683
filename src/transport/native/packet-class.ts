// Typed view of the native packet classifier (RFC 7983 §7 demultiplexing, RFC 8656 §12.4 framing).
import type { NativeAddon } from './native-addon.js';

/** What a datagram on the TURN listening port is. */
export type PacketKind = 'stun' | 'channel-data' | 'invalid' | 'other';

/** Why a datagram that looked like STUN or ChannelData was rejected. */
export type InvalidReason =
  | 'too-short'
  | 'bad-cookie'
  | 'bad-stun-length'
  | 'reserved-channel'
  | 'channel-truncated'
  | 'channel-trailing';

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
  'reserved-channel',
  'channel-truncated',
  'channel-trailing',
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
