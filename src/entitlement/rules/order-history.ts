// Validation of the order-history file (DOMAIN.md "The order-history file"). Every problem is
// reported with its path and the id of the order it is in, so a clerk can find the bad line.
import { z } from 'zod';
import type { Order, OrderHistory, OrderKind } from '../types.js';
import { OrderHistoryError, type OrderHistoryIssue } from './errors.js';
import { parseInstant } from './instant.js';
import { civilOf, isJstDate } from './jst-date.js';
import { MAX_LICENSES, orderDateProblem, orderIdProblem, tenantIdProblem } from './storable.js';

/** Every order kind DOMAIN.md defines. */
export const ORDER_KINDS: readonly OrderKind[] = ['initial', 'renewal', 'recontinuation', 'additional'];

// Only the "not an object" case gets our wording; other issues (unknown keys) keep zod's.
function notAnObject(message: string) {
  return (issue: { code?: string }) => (issue.code === 'invalid_type' ? message : undefined);
}

const instantField = z
  .string({ error: 'must be a string (an ISO-8601 instant)' })
  .superRefine((text, ctx) => {
    try {
      // The UTC date bounds it: a store keeps the instant, not its offset.
      const problem = orderDateProblem(parseInstant(text).toISOString().slice(0, 10));
      if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: err instanceof Error ? err.message : String(err) });
    }
  });

const dateField = z.string({ error: "must be a string 'YYYY-MM-DD'" }).superRefine((text, ctx) => {
  try {
    civilOf(text);
    const problem = orderDateProblem(text);
    if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: err instanceof Error ? err.message : String(err) });
  }
});

/** A string field checked by one of storable.ts's rules. */
function checkedString(problemOf: (text: string) => string | null) {
  return z.string({ error: 'must be a non-empty string' }).superRefine((text, ctx) => {
    const problem = problemOf(text);
    if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
  });
}

const certificateSchema = z
  .strictObject(
    { start: dateField, end: dateField },
    { error: notAnObject('must be an object {start, end}') },
  )
  .superRefine((cert, ctx) => {
    if (isJstDate(cert.start) && isJstDate(cert.end) && cert.start > cert.end) {
      ctx.addIssue({
        code: 'custom',
        path: ['end'],
        message: `certificate ends on ${cert.end}, before it starts on ${cert.start}`,
      });
    }
  });

const orderSchema = z.strictObject(
  {
    id: checkedString(orderIdProblem),
    kind: z.enum(['initial', 'renewal', 'recontinuation', 'additional'], {
      error: (issue) =>
        `must be one of ${ORDER_KINDS.join(', ')}, got ${JSON.stringify(issue.input) ?? 'nothing'}`,
    }),
    receivedAt: instantField,
    licenses: z
      .number({ error: 'must be a positive integer' })
      .int('must be a positive integer')
      .positive('must be a positive integer')
      .max(MAX_LICENSES, `must be at most ${MAX_LICENSES}`),
    certificate: certificateSchema.optional(),
  },
  { error: notAnObject('must be an object') },
);

const historySchema = z
  .strictObject(
    {
      tenant: checkedString(tenantIdProblem),
      orders: z.array(orderSchema, { error: 'must be an array of orders' }),
    },
    { error: notAnObject('an order history must be a JSON object {tenant, orders}') },
  )
  .superRefine((history, ctx) => {
    const seen = new Map<string, number>();
    history.orders.forEach((order, index) => {
      const first = seen.get(order.id);
      if (first === undefined) {
        seen.set(order.id, index);
      } else {
        ctx.addIssue({
          code: 'custom',
          path: ['orders', index, 'id'],
          message: `duplicate order id (also orders[${first}])`,
        });
      }
    });
  });

function pathText(path: readonly PropertyKey[]): string {
  let text = '';
  for (const part of path) {
    text += typeof part === 'number' ? `[${part}]` : text === '' ? String(part) : `.${String(part)}`;
  }
  return text === '' ? '(file)' : text;
}

function orderIdAt(input: unknown, path: readonly PropertyKey[]): string | undefined {
  if (path[0] !== 'orders' || typeof path[1] !== 'number') return undefined;
  if (typeof input !== 'object' || input === null) return undefined;
  const orders = (input as { orders?: unknown }).orders;
  if (!Array.isArray(orders)) return undefined;
  const order: unknown = orders[path[1]];
  if (typeof order !== 'object' || order === null) return undefined;
  const id = (order as { id?: unknown }).id;
  return typeof id === 'string' && id !== '' ? id : undefined;
}

/**
 * Validates parsed JSON as an order history: a tenant id both stores and URLs can hold, known
 * kinds, unique ids without control characters, positive integer licenses up to MAX_LICENSES,
 * strict instants with an offset, real calendar dates within 1970-9999, certificate start <= end,
 * no unknown fields. Throws OrderHistoryError naming each bad order id and field.
 */
export function parseOrderHistory(json: unknown): OrderHistory {
  const result = historySchema.safeParse(json);
  if (result.success) return result.data;
  const issues: OrderHistoryIssue[] = result.error.issues.map((issue) => {
    const orderId = orderIdAt(json, issue.path);
    const base = { path: pathText(issue.path), problem: issue.message };
    return orderId === undefined ? base : { ...base, orderId };
  });
  throw new OrderHistoryError(issues);
}

function knownFieldsOf(order: Order): Order {
  const copy: Order = {
    id: order.id,
    kind: order.kind,
    receivedAt: order.receivedAt,
    licenses: order.licenses,
  };
  if (order.certificate !== undefined) {
    copy.certificate = { start: order.certificate.start, end: order.certificate.end };
  }
  return copy;
}

/**
 * Validates an in-memory history (from a store, say) with the same rules as parseOrderHistory;
 * fields the rules do not use are ignored rather than refused.
 */
export function validateOrderHistory(history: OrderHistory): OrderHistory {
  if (typeof history !== 'object' || history === null || !Array.isArray(history.orders)) {
    return parseOrderHistory(history);
  }
  return parseOrderHistory({
    tenant: history.tenant,
    orders: history.orders.map((order) =>
      typeof order === 'object' && order !== null ? knownFieldsOf(order) : order,
    ),
  });
}
