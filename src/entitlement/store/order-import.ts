// The storage-independent half of an import: decide which orders are new, unchanged or in
// conflict, run the rules over the tenant's whole history, and say which statuses to write.
// Both stores call this inside their transaction so they cannot disagree.
import {
  computeTimeline,
  OrderHistoryError,
  type OrderHistoryIssue,
  parseInstant,
  tenantIdProblem,
  validateOrderHistory,
} from '../rules/index.js';
import type { Order, Rejection, RejectionCode } from '../types.js';
import { StoreError } from './errors.js';
import type { ImportResult, OrderStatus, StoredOrder } from './store.js';

/** A status to write for an order already stored. */
export interface StatusUpdate {
  id: string;
  status: OrderStatus;
  rejection: { code: RejectionCode; message: string } | null;
}

/** What one import writes, and what it reports. */
export interface ImportPlan {
  inserts: StoredOrder[];
  statusUpdates: StatusUpdate[];
  result: ImportResult;
}

/**
 * An order in the form both stores persist: receipt instant normalised to UTC ISO-8601 (the
 * rules read any offset; the JST receipt date does not depend on it). Throws InvalidDateError.
 */
export function normaliseOrder(order: Order): Order {
  const normalised: Order = {
    id: order.id,
    kind: order.kind,
    receivedAt: parseInstant(order.receivedAt).toISOString(),
    licenses: order.licenses,
  };
  if (order.certificate !== undefined) {
    normalised.certificate = { start: order.certificate.start, end: order.certificate.end };
  }
  return normalised;
}

/** The first field in which two orders with the same id differ, or null when identical. */
export function orderDifference(a: Order, b: Order): string | null {
  if (a.kind !== b.kind) return 'kind';
  if (parseInstant(a.receivedAt).getTime() !== parseInstant(b.receivedAt).getTime()) return 'receivedAt';
  if (a.licenses !== b.licenses) return 'licenses';
  const ca = a.certificate;
  const cb = b.certificate;
  if ((ca === undefined) !== (cb === undefined)) return 'certificate';
  if (ca !== undefined && cb !== undefined && (ca.start !== cb.start || ca.end !== cb.end))
    return 'certificate';
  return null;
}

function conflict(tenant: string, id: string, field: string, where: string): StoreError {
  return new StoreError(
    'order_conflict',
    `order ${id} of tenant ${tenant} ${where} with a different ${field}; an order id cannot be reused`,
  );
}

/**
 * Throws OrderHistoryError unless `tenant` and every order of `incoming` pass the edge's rules
 * (parseOrderHistory: storable ids, licenses and dates; issue 15 point 5), so a caller that
 * skipped them (a library user, a future route) gets the same answer from either store and never
 * a database error. Ids repeated within `incoming` are planImport's to judge.
 */
export function checkImport(tenant: string, incoming: readonly Order[]): void {
  const problem = tenantIdProblem(tenant);
  if (problem !== null) throw new OrderHistoryError([{ path: 'tenant', problem }]);
  const issues: OrderHistoryIssue[] = [];
  incoming.forEach((order, index) => {
    try {
      validateOrderHistory({ tenant, orders: [order] });
    } catch (err) {
      if (!(err instanceof OrderHistoryError)) throw err;
      for (const issue of err.issues)
        issues.push({ ...issue, path: issue.path.replace(/^orders\[0\]/, `orders[${index}]`) });
    }
  });
  if (issues.length > 0) throw new OrderHistoryError(issues);
}

/**
 * Plans the import of `incoming` into a tenant whose stored orders are `existing`. Throws
 * OrderHistoryError when an order or the tenant id breaks checkImport's rules, and
 * `order_conflict` when an id is reused with different content (in the store or in `incoming`).
 */
export function planImport(
  tenant: string,
  existing: readonly StoredOrder[],
  incoming: readonly Order[],
  now: Date,
): ImportPlan {
  checkImport(tenant, incoming);
  const stored = new Map(existing.map((o) => [o.id, o]));
  const fresh = new Map<string, Order>();
  const unchanged: string[] = [];
  for (const raw of incoming) {
    const order = normaliseOrder(raw);
    const before = stored.get(order.id);
    if (before !== undefined) {
      const field = orderDifference(before, order);
      if (field !== null) throw conflict(tenant, order.id, field, 'was imported before');
      if (!unchanged.includes(order.id)) unchanged.push(order.id);
      continue;
    }
    const twin = fresh.get(order.id);
    if (twin !== undefined) {
      const field = orderDifference(twin, order);
      if (field !== null) throw conflict(tenant, order.id, field, 'appears twice in this import');
      continue;
    }
    fresh.set(order.id, order);
  }

  const noChanges = { tenants: [], revokedKeys: [] };
  if (fresh.size === 0) {
    return {
      inserts: [],
      statusUpdates: [],
      result: { tenant, accepted: [], rejected: [], unchanged, statusChanged: [], changes: noChanges },
    };
  }

  const all: Order[] = [...existing.map(orderOnly), ...fresh.values()];
  const verdicts = verdictsOf(tenant, all);

  const inserts: StoredOrder[] = [];
  const accepted: string[] = [];
  const rejected: Rejection[] = [];
  for (const order of fresh.values()) {
    const verdict = verdictFor(verdicts, tenant, order.id);
    inserts.push({ ...order, tenant, importedAt: now, ...verdict });
    if (verdict.rejection === null) accepted.push(order.id);
    else rejected.push({ order: order.id, ...verdict.rejection });
  }

  const statusUpdates: StatusUpdate[] = [];
  for (const before of existing) {
    const verdict = verdictFor(verdicts, tenant, before.id);
    if (
      verdict.status !== before.status ||
      verdict.rejection?.code !== before.rejection?.code ||
      verdict.rejection?.message !== before.rejection?.message
    ) {
      statusUpdates.push({ id: before.id, ...verdict });
    }
  }

  return {
    inserts,
    statusUpdates,
    result: {
      tenant,
      accepted,
      rejected,
      unchanged,
      statusChanged: statusUpdates.filter((u) => u.status !== stored.get(u.id)?.status).map((u) => u.id),
      changes: { tenants: [tenant], revokedKeys: [] },
    },
  };
}

/** The rules' input fields of a stored order. */
export function orderOnly(o: StoredOrder): Order {
  const order: Order = { id: o.id, kind: o.kind, receivedAt: o.receivedAt, licenses: o.licenses };
  if (o.certificate !== undefined) order.certificate = o.certificate;
  return order;
}

type Verdict = Pick<StoredOrder, 'status' | 'rejection'>;

function verdictsOf(tenant: string, orders: Order[]): Map<string, Verdict> {
  const timeline = computeTimeline({ tenant, orders });
  const verdicts = new Map<string, Verdict>();
  for (const period of timeline.periods) verdicts.set(period.order, { status: 'accepted', rejection: null });
  for (const r of timeline.rejected) {
    verdicts.set(r.order, { status: 'rejected', rejection: { code: r.code, message: r.message } });
  }
  return verdicts;
}

function verdictFor(verdicts: Map<string, Verdict>, tenant: string, id: string): Verdict {
  const verdict = verdicts.get(id);
  // The rules give every order either a period or a rejection; anything else is a rules bug.
  if (verdict === undefined)
    throw new Error(`support rules gave no verdict for order ${id} of tenant ${tenant}`);
  return verdict;
}
