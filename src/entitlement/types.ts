// Shared domain types of the support-period rules (../shared/DOMAIN.md). The rules module
// (src/entitlement/rules/) computes them; the stores persist orders; licensing and the HTTP
// gate read entitlements. A JST calendar date is written 'YYYY-MM-DD'.

/** A JST calendar date, 'YYYY-MM-DD'. */
export type JstDate = string;

/** Order kinds, DOMAIN.md "Order kinds" (seed section 3). */
export type OrderKind = 'initial' | 'renewal' | 'recontinuation' | 'additional';

/** Support certificate dates, which govern the period when present (seed 3(5)). */
export interface Certificate {
  start: JstDate;
  end: JstDate;
}

/** One order as received; `receivedAt` is an ISO-8601 instant with an offset. */
export interface Order {
  id: string;
  kind: OrderKind;
  receivedAt: string;
  licenses: number;
  certificate?: Certificate;
}

/** The order-history file of the CLI contract. */
export interface OrderHistory {
  tenant: string;
  orders: Order[];
}

/** A support period created by an accepted order; dates are inclusive JST dates. */
export interface SupportPeriod {
  order: string;
  kind: OrderKind;
  serviceFrom: JstDate;
  start: JstDate;
  end: JstDate;
  licenses: number;
}

/** Stable rejection codes, DOMAIN.md "Rejections". */
export type RejectionCode =
  | 'recontinuation_required'
  | 'renewal_applies'
  | 'no_prior_support'
  | 'already_initialised'
  | 'no_active_support';

export interface Rejection {
  order: string;
  code: RejectionCode;
  message: string;
}

/** The timeline of one tenant: `icegate support-periods` prints exactly this. */
export interface Timeline {
  tenant: string;
  periods: SupportPeriod[];
  rejected: Rejection[];
}

/**
 * `none`: the tenant's orders are known but none was accepted; `unknown`: the tenant was never
 * imported at all (issue 16 point 4: answered `unknown_tenant`, not `support_expired`).
 */
export type EntitlementState = 'active' | 'grace' | 'not_started' | 'expired' | 'none' | 'unknown';

/** The entitlement at an instant: `icegate entitlement` prints exactly this. */
export interface Entitlement {
  tenant: string;
  active: boolean;
  state: EntitlementState;
  licenses: number;
  until: JstDate | null;
}
