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
  const additionalValue = request.attribute(Attr.ADDITIONAL_ADDRESS_FAMILY);
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
  // a relay address. ADDITIONAL-ADDRESS-FAMILY (dual allocation) is comprehension-optional and
  // not offered yet, so it is ignored unless it conflicts.
  if (familyValue !== undefined && additionalValue !== undefined) {
    return { code: 400, reason: 'REQUESTED- and ADDITIONAL-ADDRESS-FAMILY together' };
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
  }

  const lifetimeValue = request.attribute(Attr.LIFETIME);
  const requestedLifetime = lifetimeValue === undefined ? null : readUint32(lifetimeValue);
  if (lifetimeValue !== undefined && requestedLifetime === null) return { code: 400, reason: 'Bad LIFETIME' };

  return { family, evenPort, reserveNext, reservationToken, requestedLifetime };
}
