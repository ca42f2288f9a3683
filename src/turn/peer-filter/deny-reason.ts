/** Why a peer address was refused; stable codes for events, logs and metrics. */
export type PeerDenyReason =
  | 'loopback'
  | 'private'
  | 'cgnat'
  | 'link_local'
  | 'multicast'
  | 'broadcast'
  | 'unspecified'
  | 'reserved'
  | 'documentation'
  | 'unique_local'
  | 'server_address'
  | 'configured_deny'
  | 'invalid';

/** Every PeerDenyReason, in a stable order (e.g. to pre-create metric series). */
export const PEER_DENY_REASONS: readonly PeerDenyReason[] = [
  'loopback',
  'private',
  'cgnat',
  'link_local',
  'multicast',
  'broadcast',
  'unspecified',
  'reserved',
  'documentation',
  'unique_local',
  'server_address',
  'configured_deny',
  'invalid',
];
