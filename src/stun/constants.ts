/** STUN magic cookie, RFC 8489 section 5. */
export const MAGIC_COOKIE = 0x2112a442;
/** Size of the fixed STUN header, RFC 8489 section 5. */
export const HEADER_LENGTH = 20;

/** Message classes, RFC 8489 section 5 (the C1/C0 bits, as a 2-bit number). */
export enum StunClass {
  Request = 0,
  Indication = 1,
  SuccessResponse = 2,
  ErrorResponse = 3,
}

/** Methods used by STUN (RFC 8489 section 18.2) and TURN (RFC 8656 section 17). */
export const Method = {
  Binding: 0x001,
  Allocate: 0x003,
  Refresh: 0x004,
  Send: 0x006,
  Data: 0x007,
  CreatePermission: 0x008,
  ChannelBind: 0x009,
} as const;

/** Attribute types, RFC 8489 section 18.3, RFC 8656 section 18, RFC 8445 section 16.1. */
export const Attr = {
  MAPPED_ADDRESS: 0x0001,
  USERNAME: 0x0006,
  MESSAGE_INTEGRITY: 0x0008,
  ERROR_CODE: 0x0009,
  UNKNOWN_ATTRIBUTES: 0x000a,
  CHANNEL_NUMBER: 0x000c,
  LIFETIME: 0x000d,
  XOR_PEER_ADDRESS: 0x0012,
  DATA: 0x0013,
  REALM: 0x0014,
  NONCE: 0x0015,
  XOR_RELAYED_ADDRESS: 0x0016,
  REQUESTED_ADDRESS_FAMILY: 0x0017,
  EVEN_PORT: 0x0018,
  REQUESTED_TRANSPORT: 0x0019,
  DONT_FRAGMENT: 0x001a,
  MESSAGE_INTEGRITY_SHA256: 0x001c,
  PASSWORD_ALGORITHM: 0x001d,
  USERHASH: 0x001e,
  XOR_MAPPED_ADDRESS: 0x0020,
  RESERVATION_TOKEN: 0x0022,
  PRIORITY: 0x0024,
  USE_CANDIDATE: 0x0025,
  ADDITIONAL_ADDRESS_FAMILY: 0x8000,
  ADDRESS_ERROR_CODE: 0x8001,
  PASSWORD_ALGORITHMS: 0x8002,
  ALTERNATE_DOMAIN: 0x8003,
  ICMP: 0x8004,
  SOFTWARE: 0x8022,
  ALTERNATE_SERVER: 0x8023,
  FINGERPRINT: 0x8028,
  ICE_CONTROLLED: 0x8029,
  ICE_CONTROLLING: 0x802a,
  RESPONSE_ORIGIN: 0x802b,
  OTHER_ADDRESS: 0x802c,
} as const;

/** Comprehension-required attributes have a type below 0x8000, RFC 8489 section 14. */
export function isComprehensionRequired(type: number): boolean {
  return type < 0x8000;
}

/** Address family codes inside address attributes, RFC 8489 section 14.1. */
export const Family = { IPv4: 0x01, IPv6: 0x02 } as const;

/** IANA protocol numbers for REQUESTED-TRANSPORT, RFC 8656 section 18.7. */
export const Protocol = { UDP: 17, TCP: 6 } as const;

/** Channel numbers a client may bind, RFC 8656 section 12. */
export const MIN_CHANNEL = 0x4000;
export const MAX_CHANNEL = 0x4fff;

/** Error codes used by STUN (RFC 8489 section 14.8) and TURN (RFC 8656 section 19). */
export const ErrorCode = {
  TryAlternate: 300,
  BadRequest: 400,
  Unauthorized: 401,
  Forbidden: 403,
  UnknownAttribute: 420,
  AllocationMismatch: 437,
  StaleNonce: 438,
  AddressFamilyNotSupported: 440,
  WrongCredentials: 441,
  UnsupportedTransportProtocol: 442,
  PeerAddressFamilyMismatch: 443,
  ConnectionAlreadyExists: 446,
  ConnectionTimeoutOrFailure: 447,
  AllocationQuotaReached: 486,
  RoleConflict: 487,
  ServerError: 500,
  InsufficientCapacity: 508,
} as const;

/**
 * Comprehension-required attributes this codec understands. Anything else below 0x8000 ends up in
 * `unknownRequired` so the server can answer 420 (RFC 8489 section 6.3.1). PASSWORD-ALGORITHM and
 * USERHASH are left out on purpose: icegate never offers PASSWORD-ALGORITHMS, so it cannot honour them.
 */
export const UNDERSTOOD_REQUIRED_ATTRIBUTES: ReadonlySet<number> = new Set([
  Attr.MAPPED_ADDRESS,
  Attr.USERNAME,
  Attr.MESSAGE_INTEGRITY,
  Attr.ERROR_CODE,
  Attr.UNKNOWN_ATTRIBUTES,
  Attr.CHANNEL_NUMBER,
  Attr.LIFETIME,
  Attr.XOR_PEER_ADDRESS,
  Attr.DATA,
  Attr.REALM,
  Attr.NONCE,
  Attr.XOR_RELAYED_ADDRESS,
  Attr.REQUESTED_ADDRESS_FAMILY,
  Attr.EVEN_PORT,
  Attr.REQUESTED_TRANSPORT,
  Attr.DONT_FRAGMENT,
  Attr.MESSAGE_INTEGRITY_SHA256,
  Attr.XOR_MAPPED_ADDRESS,
  Attr.RESERVATION_TOKEN,
  Attr.PRIORITY,
  Attr.USE_CANDIDATE,
]);

/** Largest value of the header's length field: 16 bits, a multiple of 4 (RFC 8489 section 5). */
export const MAX_MESSAGE_BODY = 0xfffc;
