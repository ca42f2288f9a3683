import { randomBytes } from 'node:crypto';
import type { TransportAddress } from '../stun/index.js';

/** A relay port held for a later Allocate with RESERVATION-TOKEN, RFC 8656 section 7.2. */
export interface Reservation {
  relayId: number;
  address: TransportAddress;
  /** Server clock, milliseconds. */
  expiresAt: number;
}

/** Reserved relays by token (hex of the 8-byte RESERVATION-TOKEN, RFC 8656 section 18.9). */
export class ReservationTable {
  readonly #byToken = new Map<string, Reservation>();

  get size(): number {
    return this.#byToken.size;
  }

  /** Holds `relayId` and returns its new random token. */
  add(relayId: number, address: TransportAddress, expiresAt: number): Buffer {
    const token = randomBytes(8);
    this.#byToken.set(token.toString('hex'), { relayId, address, expiresAt });
    return token;
  }

  /** Whether `token` names a live reservation. */
  isValid(token: Buffer, now: number): boolean {
    const reservation = this.#byToken.get(token.toString('hex'));
    return reservation !== undefined && reservation.expiresAt > now;
  }

  /** Takes the live reservation of `token` out of the table. */
  claim(token: Buffer, now: number): Reservation | undefined {
    const hex = token.toString('hex');
    const reservation = this.#byToken.get(hex);
    if (reservation === undefined || reservation.expiresAt <= now) return undefined;
    this.#byToken.delete(hex);
    return reservation;
  }

  /** Removes and returns reservations that expired (their sockets must be closed). */
  takeExpired(now: number): Reservation[] {
    const expired: Reservation[] = [];
    for (const [hex, reservation] of this.#byToken) {
      if (reservation.expiresAt <= now) {
        this.#byToken.delete(hex);
        expired.push(reservation);
      }
    }
    return expired;
  }

  /** Removes and returns every reservation. */
  takeAll(): Reservation[] {
    const all = [...this.#byToken.values()];
    this.#byToken.clear();
    return all;
  }
}
