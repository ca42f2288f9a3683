/** Per-tenant usage accounting (issue 6): counting, the store flush, the Redis live view, the report. */
export { LIVE_VIEW_TTL_SECONDS, RedisUsageView } from './redis-usage-view.js';
export {
  UsageAccountant,
  type UsageAccountantOptions,
  type UsageAnswer,
  type UsageRedisHealth,
} from './usage-accountant.js';
export { type DayShare, secondsByJstDay } from './usage-interval.js';
export { compareUsageRows, UsageLedger } from './usage-ledger.js';
export {
  buildUsageReport,
  MAX_REPORT_DAYS,
  mergeUsageMax,
  parseUsageRange,
  USAGE_CSV_COLUMNS,
  UsageRangeError,
  type UsageReport,
  type UsageSource,
  type UsageTotal,
  usageCsv,
} from './usage-report.js';
export { usageAccountantFor } from './usage-wiring.js';
