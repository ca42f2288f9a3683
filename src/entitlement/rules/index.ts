// Public API of the support-period rules: pure functions, no I/O, the instant always passed in.
export { basePeriods, coveringBasePeriod, latestBasePeriod, windowCovers } from './access-window.js';
export {
  type ClosingDaySpec,
  DEFAULT_CLOSING_DAYS,
  isBusinessDay,
  isClosingDay,
  isNationalHoliday,
  type MonthDay,
  nextBusinessDay,
  parseClosingDays,
} from './business-days.js';
export {
  type EntitlementOptions,
  entitlementAt,
  licensesOn,
  nextChangeAt,
  timelineKnownAt,
} from './entitlement.js';
export { InvalidDateError, OrderHistoryError, type OrderHistoryIssue, RuleOptionError } from './errors.js';
export { isInstant, parseInstant } from './instant.js';
export {
  addDays,
  addYears,
  compareJstDates,
  endOfJstDay,
  firstOfMonthRule,
  isJstDate,
  jstDateOf,
  oneYearFrom,
  parseJstDate,
  startOfJstDay,
} from './jst-date.js';
export { ORDER_KINDS, parseOrderHistory, validateOrderHistory } from './order-history.js';
export { lastRenewalDate } from './order-rules.js';
export { REISSUE_CUTOFF_MS, type ReissueDueOptions, reissueDue } from './reissue-due.js';
export {
  displayTextProblem,
  EARLIEST_ORDER_DATE,
  LATEST_ORDER_DATE,
  MAX_LICENSES,
  MAX_ORDER_ID_LENGTH,
  orderIdProblem,
  tenantIdProblem,
} from './storable.js';
export { computeTimeline } from './timeline.js';
