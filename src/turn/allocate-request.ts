// The attribute checks of an Allocate request, RFC 8656 section 7.2 steps 3 to 6.
import {
  Attr,
  Protocol,
  readAddressFamilyCode,
  readEvenPort,
  readRequestedTransport,
  readReservationToken,
  readUint32,
  type TransportAddress,
} from '../stun/index.js';
import type { TurnContext } from './context.js';
import type { TurnRequest } from './request.js';

/** What a valid Allocate asks for. */
export interface AllocateParams {
  family: TransportAddress['family'];
  /** ADDITIONAL-ADDRESS-FAMILY: IPv6 beside the IPv4 relayed address (a dual allocation), or null. */
  additionalFamily: 'IPv6' | null;
  evenPort: boolean;
  reserveNext: boolean;
  /** A copy of RESERVATION-TOKEN, when the relay comes from a reservation. */
  reservationToken: Buffer | null;
  /** LIFETIME as requested, seconds (null when absent). */
  requestedLifetime: number | null;
}

/** Why an Allocate is refused before any policy runs. */
export interface AllocateRefusal {
  code: number;
  reason?: string;
  /** For 420: the attribute types to list in UNKNOWN-ATTRIBUTES. */
  unknown?: number[];
}

const FAMILY_BY_CODE: Readonly<Record<number, TransportAddress['family']>> = { 1: 'IPv4', 2: 'IPv6' };

/**
 * The code point drafts of RFC 8656 gave ADDITIONAL-ADDRESS-FAMILY before IANA assigned 0x8000;
 * coturn 4.6 clients (turnutils_uclient -Z) still send it. IANA has since registered 0x8032 for
 * something else, so only its exact dual-allocation value (IPv6, 0x02 0 0 0) is read as such.
 */
const DRAFT_ADDITIONAL_ADDRESS_FAMILY = 0x8032;
const DRAFT_IPV6_VALUE = Buffer.from([2, 0, 0, 0]);

/** Checks the attributes of an Allocate; the params, or the error to answer. */
export function readAllocateRequest(
  ctx: TurnContext,
  request: TurnRequest,
  now: number,
): AllocateParams | AllocateRefusal {
  // Step 3: REQUESTED-TRANSPORT, UDP only (TCP relaying is RFC 6062, not offered).
  const transportValue = request.attribute(Attr.REQUESTED_TRANSPORT);
  const protocol = transportValue === undefined ? null : readRequestedTransport(transportValue);
  if (protocol === null) return { code: 400, reason: 'Missing or bad REQUESTED-TRANSPORT' };
  if (protocol !== Protocol.UDP) return { code: 442 };

  // Step 4: Node cannot set the DF bit on a datagram, so DONT-FRAGMENT is treated as an unknown
  // comprehension-required attribute, as the RFC requires of a server that cannot honour it.
  if (request.has(Attr.DONT_FRAGMENT)) return { code: 420, unknown: [Attr.DONT_FRAGMENT] };

  // Step 5: RESERVATION-TOKEN excludes EVEN-PORT and the address-family attributes; an unknown
  // or expired token is 508.
  const tokenValue = request.attribute(Attr.RESERVATION_TOKEN);
  const evenValue = request.attribute(Attr.EVEN_PORT);
  const familyValue = request.attribute(Attr.REQUESTED_ADDRESS_FAMILY);
  const draftValue = request.attribute(DRAFT_ADDITIONAL_ADDRESS_FAMILY);
  const additionalValue =
    request.attribute(Attr.ADDITIONAL_ADDRESS_FAMILY) ??
    (draftValue?.equals(DRAFT_IPV6_VALUE) === true ? draftValue : undefined);
  let reservationToken: Buffer | null = null;
  if (tokenValue !== undefined) {
    if (evenValue !== undefined || familyValue !== undefined || additionalValue !== undefined) {
      return { code: 400, reason: 'RESERVATION-TOKEN with EVEN-PORT or an address family' };
    }
    const token = readReservationToken(tokenValue);
    if (token === null) return { code: 400, reason: 'Bad RESERVATION-TOKEN' };
    if (!ctx.reservations.isValid(token, now)) return { code: 508, reason: 'Unknown or expired reservation' };
    reservationToken = Buffer.from(token);
  }

  // REQUESTED-ADDRESS-FAMILY (RFC 8656 section 18.8): IPv4 when absent, 440 for a family without
  // a relay address. ADDITIONAL-ADDRESS-FAMILY (section 18.12) asks for a dual allocation, IPv4
  // plus IPv6: it excludes REQUESTED-ADDRESS-FAMILY, and IPv6 is its only valid value (400 else).
  // A server without an IPv6 relay still allocates IPv4 and says so in ADDRESS-ERROR-CODE.
  if (familyValue !== undefined && additionalValue !== undefined) {
    return { code: 400, reason: 'REQUESTED- and ADDITIONAL-ADDRESS-FAMILY together' };
  }
  let additionalFamily: 'IPv6' | null = null;
  if (additionalValue !== undefined) {
    if (readAddressFamilyCode(additionalValue) !== 2) {
      return { code: 400, reason: 'ADDITIONAL-ADDRESS-FAMILY must be IPv6' };
    }
    additionalFamily = 'IPv6';
  }
  let family: TransportAddress['family'] = 'IPv4';
  if (familyValue !== undefined) {
    const code = readAddressFamilyCode(familyValue);
    if (code === null) return { code: 400, reason: 'Bad REQUESTED-ADDRESS-FAMILY' };
    const requested = FAMILY_BY_CODE[code];
    if (requested === undefined) return { code: 440 };
    family = requested;
  }
  if (reservationToken === null && !ctx.relayFamilies.has(family)) return { code: 440 };

  // Step 6: EVEN-PORT, optionally reserving the next port too (the R bit).
  let evenPort = false;
  let reserveNext = false;
  if (evenValue !== undefined) {
    const even = readEvenPort(evenValue);
    if (even === null) return { code: 400, reason: 'Bad EVEN-PORT' };
    evenPort = true;
    reserveNext = even.reserveNext;
    // Section 7.2: a reserved port pair and a dual allocation do not go together.
    if (reserveNext && additionalFamily !== null) {
      return { code: 400, reason: 'EVEN-PORT with R and ADDITIONAL-ADDRESS-FAMILY' };
    }
  }

  const lifetimeValue = request.attribute(Attr.LIFETIME);
  const requestedLifetime = lifetimeValue === undefined ? null : readUint32(lifetimeValue);
  if (lifetimeValue !== undefined && requestedLifetime === null) return { code: 400, reason: 'Bad LIFETIME' };

  return { family, additionalFamily, evenPort, reserveNext, reservationToken, requestedLifetime };
}
