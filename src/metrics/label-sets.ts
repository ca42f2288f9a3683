// Closed sets of label values. Every icegate label takes its value from one of these lists, so
// the number of series is fixed and known in advance: no tenant, user, username or IP address
// ever becomes a label value (DESIGN.md "External contracts"; per-tenant load is the usage report).
import { PEER_DENY_REASONS, type PeerDenyReason } from '../turn/peer-filter/deny-reason.js';

/** Client-facing transport of an allocation (RFC 8656 section 3.1: UDP, TCP or TLS-over-TCP). */
export const TRANSPORTS = ['udp', 'tcp', 'tls'] as const;
/** Client-facing transport of an allocation. */
export type Transport = (typeof TRANSPORTS)[number];

/** Address family of relay ports (RFC 8656 section 7.2: an allocation holds one relay port per family). */
export const ADDRESS_FAMILIES = ['ipv4', 'ipv6'] as const;
/** Address family of relay ports. */
export type AddressFamily = (typeof ADDRESS_FAMILIES)[number];

/** Relay direction: towards the peer (Send/ChannelData in) or towards the client (Data/ChannelData out). */
export const DIRECTIONS = ['client_to_peer', 'peer_to_client'] as const;
/** Relay direction. */
export type Direction = (typeof DIRECTIONS)[number];

/**
 * Outcome of each answered Allocate request (RFC 8656 section 7.2). Every Allocate of a normal
 * client is answered twice: first `challenged` (it carried no credentials yet), then `ok` or a
 * failure. Failures are every result but `ok` and `challenged`.
 */
export const ALLOCATE_RESULTS = [
  'ok',
  // 401 to an Allocate without MESSAGE-INTEGRITY (the first leg of RFC 8489 section 9.2.4), or 438
  // with a fresh NONCE (section 9.2.5: the client retries with it); part of the handshake, not a failure
  'challenged',
  'auth_failed', // 401/441 to an Allocate that presented credentials; detail in icegate_auth_failures_total
  'not_entitled', // 403: the tenant's support is not active
  'quota_exceeded', // 486: the tenant's concurrent allocation quota is used up
  'bad_request', // 400
  'allocation_mismatch', // 437: an allocation already exists on this 5-tuple
  'unsupported_transport', // 442
  'address_family_not_supported', // 440
  'insufficient_capacity', // 508: relay port pool exhausted
  'draining', // 508 or 300 ALTERNATE-SERVER while this node drains
  'internal_error', // 500
] as const;
/** Final outcome of an Allocate request. */
export type AllocateResult = (typeof ALLOCATE_RESULTS)[number];

/** Why an allocation ended. */
export const ALLOCATION_END_REASONS = [
  'expired', // lifetime ran out without a Refresh (RFC 8656 section 7)
  'deleted', // Refresh with LIFETIME 0 (RFC 8656 section 7.3)
  'connection_closed', // the TCP/TLS control connection closed (RFC 8656 section 3.1)
  'entitlement_revoked', // the tenant lost support while relaying
  'admin_closed', // an operator closed the tenant's allocations (DELETE /v1/admin/tenants/{tenant}/allocations)
  'license_revoked', // the tenant's license key was revoked
  'drain_deadline', // still open when the drain deadline passed
  'relay_error', // the relay socket failed
  'shutdown', // the process stopped without draining
] as const;
/** Why an allocation ended. */
export type AllocationEndReason = (typeof ALLOCATION_END_REASONS)[number];

/** Why a TURN request failed authentication (RFC 8489 section 9.2, TURN REST usernames). */
export const AUTH_FAILURE_REASONS = [
  'missing_integrity', // credentials expected, no MESSAGE-INTEGRITY
  'missing_attributes', // MESSAGE-INTEGRITY without USERNAME, REALM or NONCE (400)
  'bad_integrity', // HMAC does not verify with any secret of the ring
  'wrong_credentials', // 441: valid credentials, but not the ones the allocation was made with
  'stale_nonce', // 438: the nonce is well-formed but too old
  'invalid_nonce', // the nonce was not minted by this fleet
  'wrong_realm', // REALM differs from TURN_REALM
  'expired_username', // the expiry in <expiry>:<tenant> is past
  'bad_username', // the username does not follow <expiry>:<tenant>[:<opaque>]
  'not_entitled', // credentials verify but the tenant's support is not active
  'entitlement_unavailable', // the entitlement could not be decided (store and cache down)
] as const;
/** Why a TURN request failed authentication. */
export type AuthFailureReason = (typeof AUTH_FAILURE_REASONS)[number];

/** Why a peer address was refused: the peer filter's own reasons (RFC 8656 section 21.6 advice). */
export const PEER_DENIAL_REASONS = PEER_DENY_REASONS;
/** Why a peer address was refused. */
export type PeerDenialReason = PeerDenyReason;

/** Outcome of a credential request: `ok` or a refusal code of DESIGN.md's HTTP contract. */
export const CREDENTIAL_OUTCOMES = [
  'ok',
  'invalid_token',
  'token_expired',
  'unknown_license',
  'license_revoked',
  'support_expired',
  'support_not_started',
  'unknown_tenant', // issue 16 point 4: a tenant whose orders were never imported
  'rate_limited',
  'entitlement_unavailable',
  'internal_error', // anything unexpected (500); not a DESIGN.md refusal code
] as const;
/** Outcome of a credential request. */
export type CredentialOutcome = (typeof CREDENTIAL_OUTCOMES)[number];

/** Which credential API answered: `POST /v1/ice-servers` or the draft-uberti `GET /v1/turn-credentials`. */
export const CREDENTIAL_APIS = ['ice_servers', 'turn_credentials'] as const;
/** Which credential API answered. */
export type CredentialApi = (typeof CREDENTIAL_APIS)[number];

/** Entitlement cache lookup result. */
export const CACHE_RESULTS = ['hit', 'miss', 'stale', 'negative_hit'] as const;
/** Entitlement cache lookup result. */
export type CacheResult = (typeof CACHE_RESULTS)[number];

/** Entitlement store backend: PostgreSQL, or the embedded file store under DATA_DIR. */
export const STORE_BACKENDS = ['postgres', 'file'] as const;
/** Entitlement store backend. */
export type StoreBackend = (typeof STORE_BACKENDS)[number];

/** Kind of store operation that failed. */
export const STORE_OPERATIONS = ['read', 'write'] as const;
/** Kind of store operation that failed. */
export type StoreOperation = (typeof STORE_OPERATIONS)[number];

/** Kind of Redis operation that failed. */
export const REDIS_OPERATIONS = ['connection', 'command', 'publish', 'subscribe'] as const;
/** Kind of Redis operation that failed. */
export type RedisOperation = (typeof REDIS_OPERATIONS)[number];

/** HTTP methods kept as label values; anything else becomes `other`. */
export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'other'] as const;
/** HTTP method label value. */
export type HttpMethod = (typeof HTTP_METHODS)[number];

/** HTTP status classes. */
export const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;
/** HTTP status class label value. */
export type StatusClass = (typeof STATUS_CLASSES)[number];
