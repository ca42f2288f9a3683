// A tenant's support timeline from its order history (DOMAIN.md "Order kinds", "Rejections").
import type { Order, OrderHistory, SupportPeriod, Timeline } from '../types.js';
import { parseInstant } from './instant.js';
import { jstDateOf } from './jst-date.js';
import { validateOrderHistory } from './order-history.js';
import { applyOrder } from './order-rules.js';

/** An order with its receipt instant parsed. */
export interface ReceivedOrder {
  order: Order;
  receivedAt: Date;
}

/** Orders in the order they are applied: by receipt instant, ties by id (code-unit order). */
export function inReceiptOrder(orders: readonly Order[]): ReceivedOrder[] {
  return orders
    .map((order) => ({ order, receivedAt: parseInstant(order.receivedAt) }))
    .sort((a, b) => {
      const byTime = a.receivedAt.getTime() - b.receivedAt.getTime();
      if (byTime !== 0) return byTime;
      return a.order.id < b.order.id ? -1 : a.order.id > b.order.id ? 1 : 0;
    });
}

/**
 * Applies every order of a history in receipt order; each is accepted into a SupportPeriod or
 * rejected with a stable code and a message for a support clerk. Periods and rejections are
 * listed in the order applied. Throws OrderHistoryError when the history is malformed.
 */
export function computeTimeline(history: OrderHistory): Timeline {
  return timelineOfValidHistory(validateOrderHistory(history));
}

/** computeTimeline for a history already through validateOrderHistory (no second validation). */
export function timelineOfValidHistory(valid: OrderHistory): Timeline {
  const periods: SupportPeriod[] = [];
  const rejected: Timeline['rejected'] = [];
  for (const { order, receivedAt } of inReceiptOrder(valid.orders)) {
    const outcome = applyOrder(order, jstDateOf(receivedAt), periods);
    if (outcome.accepted) {
      periods.push({ order: order.id, kind: order.kind, ...outcome.dates, licenses: order.licenses });
    } else {
      rejected.push({ order: order.id, code: outcome.code, message: outcome.message });
    }
  }
  return { tenant: valid.tenant, periods, rejected };
}
