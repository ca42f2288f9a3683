// Small builders for order histories in the rules tests.
import type { Certificate, Order, OrderHistory, OrderKind } from '../../../src/entitlement/types.js';

/** An order received at a JST wall-clock time 'YYYY-MM-DDTHH:MM' (or a full instant with offset). */
export function order(
  id: string,
  kind: OrderKind,
  received: string,
  licenses = 10,
  certificate?: Certificate,
): Order {
  const receivedAt = /(Z|[+-]\d{2}:?\d{2})$/.test(received) ? received : `${received}:00+09:00`;
  return certificate === undefined
    ? { id, kind, receivedAt, licenses }
    : { id, kind, receivedAt, licenses, certificate };
}

/** A history of tenant 'acme'. */
export function history(...orders: Order[]): OrderHistory {
  return { tenant: 'acme', orders };
}

/** A JST wall-clock instant 'YYYY-MM-DDTHH:MM[:SS[.mmm]]' as a Date. */
export function jst(local: string): Date {
  return new Date(`${local}+09:00`);
}
