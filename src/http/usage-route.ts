// GET /v1/admin/usage (issue 6): per-tenant relay usage per JST day, as JSON or CSV. The numbers
// come from the node's usage accountant (which flushes this node's counts first, and can add the
// fleet's live view in Redis); without one, straight from the store.
import type { RequestHandler } from 'express';
import type { EntitlementStore } from '../entitlement/store/store.js';
import type { JstDate } from '../entitlement/types.js';
import {
  buildUsageReport,
  parseUsageRange,
  type UsageAnswer,
  UsageRangeError,
  type UsageSource,
  usageCsv,
} from '../usage/index.js';
import { HttpError } from './http-error.js';

/** What the usage route reads (the UsageAccountant fits). */
export interface UsageReader {
  report(from: JstDate, to: JstDate, source: UsageSource): Promise<UsageAnswer>;
}

/** What the handler needs. */
export interface UsageRouteDeps {
  store: Pick<EntitlementStore, 'usage'>;
  usage?: UsageReader;
}

function oneOf<T extends string>(name: string, value: unknown, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new HttpError('invalid_request', `${name}: expected one of ${allowed.join(', ')}`);
}

/** The handler of GET /v1/admin/usage?from=&to=[&format=json|csv][&source=store|live]. */
export function usageHandler(deps: UsageRouteDeps): RequestHandler {
  return async (req, res) => {
    let range: { from: JstDate; to: JstDate };
    try {
      range = parseUsageRange(req.query.from, req.query.to);
    } catch (err) {
      if (err instanceof UsageRangeError) throw new HttpError('invalid_request', err.message);
      throw err;
    }
    const format = oneOf('format', req.query.format, ['json', 'csv'], 'json');
    const source = oneOf('source', req.query.source, ['store', 'live'], 'store');
    const answer: UsageAnswer =
      deps.usage === undefined
        ? { source: 'store', rows: await deps.store.usage(range.from, range.to) }
        : await deps.usage.report(range.from, range.to, source);
    res.setHeader('Icegate-Usage-Source', answer.source);
    if (format === 'csv') {
      res.type('text/csv; charset=utf-8');
      res.setHeader(
        'Content-Disposition',
        `attachment; filename="icegate-usage-${range.from}-${range.to}.csv"`,
      );
      res.send(usageCsv(answer.rows));
      return;
    }
    res.json(buildUsageReport(range.from, range.to, answer.source, answer.rows));
  };
}
