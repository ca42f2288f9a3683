// Abusive HTTP clients, long run (issue 7), with the production http.Server settings.
import { describe, expect, it } from 'vitest';
import { HTTP_SERVER_SETTINGS, httpAbuse } from './lib/http-abuse.js';
import { httpClean, httpMarkdown } from './lib/http-report.js';
import { writePart } from './lib/report.js';

describe('HTTP abuse', () => {
  it('answers 4xx JSON or closes, never crashes or hangs other requests', async () => {
    const result = await httpAbuse({ settings: HTTP_SERVER_SETTINGS, slowClients: 200, pipelined: 1000 });
    writePart({
      id: 'http',
      title: 'HTTP: malformed, oversized and slow clients',
      order: 5,
      passed: httpClean(result),
      markdown: httpMarkdown(result),
      data: result,
    });
    expect(result.outcomes.filter((o) => !o.ok).map((o) => `${o.name}: ${o.status} ${o.error}`)).toEqual([]);
    expect(result.probe.failures).toBe(0);
    expect(result.pipelined.answered).toBe(result.pipelined.sent);
    expect(result.slowloris.closedByServer).toBe(result.slowloris.connections);
  });
});
