// The reissue-request alert (issue 21) lives in the main rules file (promtool, annotations, runbook
// and the chart's copy are checked for every alert by alerts.test.ts): it reads the exported
// overdue gauge with max() (every node reports the same queue-wide count) and fires without delay.
import { describe, expect, it } from 'vitest';
import { REISSUE_REQUEST_METRICS } from '../../../src/metrics/reissue-request-gauges.js';
import { ALERTS_FILE, alertRules, folded } from './alert-rules.js';

describe(`reissue-request alert in ${ALERTS_FILE}`, () => {
  it('alerts at once on the exported overdue gauge, aggregated with max()', () => {
    const rule = alertRules().find((r) => r.alert === 'IcegateReissueRequestOverdue');
    expect(rule).toBeDefined();
    expect(folded(rule!.expr)).toBe(`max(${REISSUE_REQUEST_METRICS.overdue}) > 0`);
    expect(rule!.for).toBeUndefined();
    expect(rule!.labels.severity).toBe('warning');
  });
});
