// Load for POST /v1/ice-servers: autocannon with the tenant tokens in rotation and a distinct
// X-Forwarded-For per request out of 1,024 addresses, so that icegate's per-address
// (120/min) and per-tenant (6,000/min) limits, which still count every request, do not turn the
// run into a measure of 429 answers. Run it pinned to one CPU (taskset) apart from the server.
//
// Usage: node bench/credential-load.mjs --url URL --tokens FILE.json [--duration 8] [--connections 10]
// Prints one JSON line: {requestsPerSecond, latencyMs: {p50, p99, max}, total, statusCodes, errors, timeouts}.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    tokens: { type: 'string' },
    duration: { type: 'string', default: '8' },
    connections: { type: 'string', default: '10' },
  },
});
const tokens = JSON.parse(readFileSync(values.tokens, 'utf8'));
let sent = 0;

const result = await autocannon({
  url: values.url,
  connections: Number(values.connections),
  duration: Number(values.duration),
  requests: [
    {
      method: 'POST',
      body: '{}',
      setupRequest: (request) => {
        sent += 1;
        const address = `10.77.${(sent >> 8) & 3}.${sent & 255}`;
        request.headers = {
          ...request.headers,
          'content-type': 'application/json',
          authorization: `Bearer ${tokens[sent % tokens.length]}`,
          'x-forwarded-for': address,
        };
        return request;
      },
    },
  ],
});
const statusCodes = Object.fromEntries(
  Object.entries(result.statusCodeStats ?? {}).map(([code, stats]) => [code, stats.count]),
);
process.stdout.write(
  `${JSON.stringify({
    requestsPerSecond: result.requests.average,
    latencyMs: { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max },
    total: result.requests.total,
    statusCodes,
    errors: result.errors,
    timeouts: result.timeouts,
  })}\n`,
);
