// Abusive HTTP clients (issue 7), short run: malformed JSON, oversized and compressed bodies,
// wrong content types and charsets, absurd headers and URLs, smuggling shapes, pipelining, slow
// bodies and slowloris. Each gets a 4xx JSON refusal from the app or a 4xx from Node's parser and
// a closed connection; none gets a 5xx, none hangs, and /healthz keeps answering meanwhile.
// The server runs with the production settings' limits and shortened timeouts.
import { describe, expect, it } from 'vitest';
import { httpAbuse } from '../../stress/lib/http-abuse.js';

describe('HTTP abuse (short run)', () => {
  it('answers 4xx JSON or closes, never 5xx, never a hang of other requests', async () => {
    const result = await httpAbuse({
      settings: { headersTimeout: 2_000, requestTimeout: 4_000, connectionsCheckingInterval: 250 },
      slowClients: 30,
      pipelined: 200,
    });
    expect(result.outcomes.filter((o) => !o.ok).map((o) => `${o.name}: ${o.status} ${o.error}`)).toEqual([]);
    expect(result.probe.failures).toBe(0);
    expect(result.probe.maxMs).toBeLessThan(1_000);
    expect(result.pipelined.answered).toBe(200);
    expect(result.slowloris.closedByServer).toBe(30);
    expect(result.slowloris.closedWithinMs).toBeLessThan(2_000 + 2_000);
    expect(result.errorsLogged).toBe(0);
  }, 60_000);
});
