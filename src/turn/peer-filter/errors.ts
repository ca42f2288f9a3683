/** Stable codes for peer filter configuration errors. */
export type PeerFilterErrorCode = 'ICEGATE_PEER_FILTER_BAD_CIDR' | 'ICEGATE_PEER_FILTER_BAD_SERVER_ADDRESS';

/** A bad peer filter configuration (config validation normally reports these first, via parseCidrList). */
export class PeerFilterConfigError extends Error {
  override readonly name = 'PeerFilterConfigError';
  constructor(
    readonly code: PeerFilterErrorCode,
    message: string,
  ) {
    super(message);
  }
}
