// Errors of the support-period rules, each with a stable code callers match on.

/** A date or instant that is not valid (malformed, not a calendar date, or without an offset). */
export class InvalidDateError extends Error {
  readonly code = 'ICEGATE_INVALID_DATE';
  override readonly name = 'InvalidDateError';
}

/** One problem found in an order history: where it is and what is wrong. */
export interface OrderHistoryIssue {
  /** Path into the history, e.g. 'orders[1].receivedAt'. */
  path: string;
  /** The id of the order concerned, when the problem is inside an order that has one. */
  orderId?: string;
  problem: string;
}

/** A malformed order history: its message names each order id and field that is wrong. */
export class OrderHistoryError extends Error {
  readonly code = 'ICEGATE_ORDER_HISTORY_INVALID';
  override readonly name = 'OrderHistoryError';
  readonly issues: readonly OrderHistoryIssue[];

  constructor(issues: readonly OrderHistoryIssue[]) {
    super(`invalid order history: ${issues.map(describeIssue).join('; ')}`);
    this.issues = issues;
  }
}

function describeIssue(issue: OrderHistoryIssue): string {
  const where = issue.orderId === undefined ? issue.path : `${issue.path} (order ${issue.orderId})`;
  return `${where}: ${issue.problem}`;
}

/** A configuration value of the rules (grace days, closing days) that is not valid. */
export class RuleOptionError extends Error {
  readonly code = 'ICEGATE_RULE_OPTION_INVALID';
  override readonly name = 'RuleOptionError';
}
