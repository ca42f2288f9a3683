/** Deny-by-default peer address policy for the TURN core's `checkPeer` hook. */
export {
  type Cidr,
  type CidrListParse,
  type CidrParse,
  cidrContains,
  parseCidr,
  parseCidrList,
} from './cidr.js';
export { PEER_DENY_REASONS, type PeerDenyReason } from './deny-reason.js';
export { type EmbeddedIpv4, embeddedIpv4, type Ipv4Embedding } from './embedded-ipv4.js';
export { PeerFilterConfigError, type PeerFilterErrorCode } from './errors.js';
export {
  formatIpAddress,
  formatIpv4,
  formatIpv6,
  type IpAddress,
  type Ipv6Words,
  ipFromBytes,
  parseIpAddress,
  parseIpv4,
  parseIpv6,
} from './ip-address.js';
export { localInterfaceAddresses, resolveServerAddresses } from './local-interfaces.js';
export {
  PEER_VERDICT_CACHE_SIZE,
  type PeerCheck,
  PeerFilter,
  type PeerFilterOptions,
} from './peer-filter.js';
export {
  BUILTIN_DENIED_IPV4,
  BUILTIN_DENIED_IPV6,
  type BuiltinDeniedRange,
  builtinIpv4Reason,
  builtinIpv6Reason,
} from './special-purpose-ranges.js';
