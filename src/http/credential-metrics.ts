// icegate_credential_requests_total{api, outcome}: `ok` or the refusal code. Request-shape
// problems (400, 413, 415, 404) are not outcomes of the gate and are not counted here.
import type { RequestHandler } from 'express';
import { CREDENTIAL_OUTCOMES, type CredentialApi, type CredentialOutcome } from '../metrics/label-sets.js';
import type { IcegateMetrics } from '../metrics/metrics.js';

const OUTCOMES: ReadonlySet<string> = new Set(CREDENTIAL_OUTCOMES);

/** Counts the outcome of each request of `api` when its response finishes. */
export function countCredentialOutcome(
  api: CredentialApi,
  metrics: IcegateMetrics | undefined,
): RequestHandler {
  return (_req, res, next) => {
    if (metrics !== undefined) {
      res.on('finish', () => {
        const code: unknown = res.locals.errorCode;
        const outcome = res.statusCode < 400 ? 'ok' : typeof code === 'string' ? code : 'internal_error';
        if (OUTCOMES.has(outcome))
          metrics.credentialRequests.inc({ api, outcome: outcome as CredentialOutcome });
      });
    }
    next();
  };
}
