// The HTTP section of the stress report.
import type { HttpAbuseResult } from './http-abuse.js';
import { table } from './report.js';

/** Whether every abusive request got an acceptable answer and the probe never failed. */
export function httpClean(r: HttpAbuseResult): boolean {
  return r.outcomes.every((o) => o.ok) && r.probe.failures === 0 && r.pipelined.answered === r.pipelined.sent;
}

/** Markdown: one row per abusive request, then the slow-client and probe figures. */
export function httpMarkdown(r: HttpAbuseResult): string {
  const s = r.settings;
  return [
    `http.Server settings under test: maxHeaderSize ${s.maxHeaderSize}, headersTimeout ${s.headersTimeout} ms, requestTimeout ${s.requestTimeout} ms, keepAliveTimeout ${s.keepAliveTimeout} ms, connectionsCheckingInterval ${s.connectionsCheckingInterval} ms; the app is createHttpApp over the embedded file store.`,
    '',
    table(
      ['request', 'expected', 'status', 'error code', 'connection closed', 'ms', 'verdict'],
      r.outcomes.map((o) => [
        o.name,
        o.expected,
        o.status === 0 ? '—' : o.status,
        o.error ?? '—',
        o.closed ? 'yes' : 'no',
        o.ms,
        o.ok ? 'ok' : '**FAIL**',
      ]),
    ),
    '',
    `Pipelining: ${r.pipelined.answered} of ${r.pipelined.sent} pipelined requests answered. Slowloris: ${r.slowloris.closedByServer} of ${r.slowloris.connections} connections closed by the server${r.slowloris.closedWithinMs === null ? '' : `, the last after ${r.slowloris.closedWithinMs} ms`}. Meanwhile /healthz was asked ${r.probe.requests} times: ${r.probe.failures} failures, slowest ${r.probe.maxMs} ms. Errors logged by the app: ${r.errorsLogged}.`,
  ].join('\n');
}
