// Abusive HTTP clients against the credential endpoint (issue 7): malformed and oversized bodies,
// wrong content types, absurd headers and URLs, request smuggling shapes, pipelining, and slow
// clients that trickle headers or bodies. Each must get a 4xx JSON answer (from the app) or a 4xx
// from Node's parser and a closed connection, never a crash, a 5xx, or a hang; meanwhile a probe
// keeps asking /healthz and must keep getting fast answers.
//
// The app is createHttpApp over the embedded file store; the http.Server around it is configured
// here the way the composition root should configure it (HTTP_SERVER_SETTINGS).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { gzipSync } from 'node:zlib';
import { SecretRing } from '../../src/auth/index.js';
import { cacheMetricsFrom } from '../../src/entitlement/cache/index.js';
import { createEntitlementRuntime } from '../../src/entitlement/service/index.js';
import { createHttpApp, Readiness } from '../../src/http/index.js';
import { LicenseService } from '../../src/licensing/index.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import {
  ACTIVE_ORDERS,
  CapturingLogger,
  FakeRelay,
  fileTestStore,
  TEST_ADMIN_SECRET,
  TEST_LISTENERS,
  TEST_NOW,
  TEST_TURN_SECRET,
  tenantToken,
  tenantWithKey,
} from '../../test/integration/http-harness.js';
import { sleep } from './resources.js';

/** http.Server options icegate's HTTP listener should use (the values tested here, scaled by `scale`). */
export interface HttpServerSettings {
  /** Largest request head, bytes (Node's default is 16 KiB; 431 beyond). */
  maxHeaderSize: number;
  /** Time to receive the whole head, ms (slowloris). */
  headersTimeout: number;
  /** Time to receive the whole request, ms (slow bodies); 408 beyond. */
  requestTimeout: number;
  /** Idle time of a kept-alive connection, ms. */
  keepAliveTimeout: number;
  /** How often Node checks the two timeouts above, ms (default 30 000, too coarse). */
  connectionsCheckingInterval: number;
}

/** The settings for production (the tests use shorter timeouts, see httpAbuse's options). */
export const HTTP_SERVER_SETTINGS: Readonly<HttpServerSettings> = Object.freeze({
  maxHeaderSize: 16 * 1024,
  headersTimeout: 10_000,
  requestTimeout: 30_000,
  keepAliveTimeout: 5_000,
  connectionsCheckingInterval: 1_000,
});

/** What one abusive request got. */
export interface AbuseOutcome {
  name: string;
  /** HTTP status, or 0 when the connection closed without one. */
  status: number;
  /** `error` of a JSON body, when there is one. */
  error: string | null;
  json: boolean;
  closed: boolean;
  ms: number;
  /** Whether the outcome is acceptable: a 4xx (JSON when the app answered) or a closed connection; never 5xx or a hang. */
  ok: boolean;
  expected: string;
}

/** Figures of the suite. */
export interface HttpAbuseResult {
  settings: HttpServerSettings;
  outcomes: AbuseOutcome[];
  slowloris: { connections: number; closedByServer: number; closedWithinMs: number | null };
  probe: { requests: number; failures: number; maxMs: number };
  pipelined: { sent: number; answered: number };
  errorsLogged: number;
}

/** A raw exchange: writes `parts` (with `gapMs` between them), reads until the server closes or `timeoutMs`. */
function raw(
  port: number,
  parts: readonly (string | Buffer)[],
  options: { gapMs?: number; timeoutMs?: number } = {},
): Promise<{ text: string; closed: boolean; ms: number }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (closed: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ text: Buffer.concat(chunks).toString('latin1'), closed, ms: Date.now() - started });
    };
    const timer = setTimeout(() => finish(false), options.timeoutMs ?? 15_000);
    socket.on('data', (c) => chunks.push(c));
    socket.on('close', () => finish(true));
    socket.on('error', () => undefined);
    socket.on('connect', async () => {
      for (const part of parts) {
        if (socket.destroyed) break;
        socket.write(part);
        if (options.gapMs !== undefined) await sleep(options.gapMs);
      }
    });
  });
}

function parse(text: string): { status: number; json: boolean; error: string | null } {
  const match = /^HTTP\/1\.1 (\d{3})/.exec(text);
  const status = match === null ? 0 : Number(match[1]);
  const headEnd = text.indexOf('\r\n\r\n');
  const head = headEnd < 0 ? text : text.slice(0, headEnd);
  const json = /content-type: application\/json/i.test(head);
  let error: string | null = null;
  if (json && headEnd >= 0) {
    let body = text.slice(headEnd + 4);
    if (/transfer-encoding: chunked/i.test(head))
      body = body.replace(/^[0-9a-f]+\r\n/i, '').replace(/\r\n0\r\n\r\n$/, '');
    try {
      error = (JSON.parse(body) as { error?: string }).error ?? null;
    } catch {
      error = null;
    }
  }
  return { status, json, error };
}

/** Runs every case. `settings` default to HTTP_SERVER_SETTINGS with short timeouts for a quick run. */
export async function httpAbuse(options: {
  settings?: Partial<HttpServerSettings>;
  slowClients: number;
  pipelined: number;
}): Promise<HttpAbuseResult> {
  const settings: HttpServerSettings = { ...HTTP_SERVER_SETTINGS, ...options.settings };
  const testStore = await fileTestStore();
  const logger = new CapturingLogger();
  const metrics = createMetrics({ defaultMetrics: false });
  const clock = () => TEST_NOW;
  const runtime = createEntitlementRuntime({
    store: testStore.store,
    logger,
    metrics: cacheMetricsFrom(metrics, testStore.store.kind),
    clock,
  });
  const licenses = new LicenseService(testStore.store, { graceDays: 0 });
  const readiness = new Readiness();
  readiness.markReady();
  const app = createHttpApp({
    config: { CREDENTIAL_TTL_MAX: 86_400, CORS_ORIGINS: [], ADMIN_TOKEN_SECRET: TEST_ADMIN_SECRET },
    logger,
    metrics,
    entitlements: runtime.service,
    keys: runtime.keys,
    licenses,
    store: testStore.store,
    events: runtime.events,
    ring: new SecretRing([TEST_TURN_SECRET]),
    relay: new FakeRelay(),
    listeners: TEST_LISTENERS,
    readiness,
    // The per-IP limit would answer 429 to most cases from one loopback client; it is not the subject.
    rateLimits: { perIp: { limit: 1_000_000, windowMs: 60_000 } },
    clock,
  });
  const server = http.createServer(
    {
      maxHeaderSize: settings.maxHeaderSize,
      requestTimeout: settings.requestTimeout,
      headersTimeout: settings.headersTimeout,
      keepAliveTimeout: settings.keepAliveTimeout,
      connectionsCheckingInterval: settings.connectionsCheckingInterval,
    },
    app,
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  const key = await tenantWithKey(testStore.store, licenses, 'acme', ACTIVE_ORDERS);
  const token = tenantToken(key, TEST_NOW);

  // The probe: /healthz every 100 ms throughout.
  const probe = { requests: 0, failures: 0, maxMs: 0 };
  let probing = true;
  const prober = (async () => {
    while (probing) {
      const started = Date.now();
      try {
        const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2000) });
        if (res.status !== 200) probe.failures++;
        await res.arrayBuffer();
      } catch {
        probe.failures++;
      }
      probe.requests++;
      probe.maxMs = Math.max(probe.maxMs, Date.now() - started);
      await sleep(100);
    }
  })();

  const outcomes: AbuseOutcome[] = [];
  const head = (method: string, path: string, headers: Record<string, string | number>): string =>
    `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n${Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('')}\r\n`;
  const post = (
    body: string | Buffer,
    headers: Record<string, string | number> = {},
  ): (string | Buffer)[] => [
    head('POST', '/v1/ice-servers', {
      Authorization: `Bearer ${token}`,
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(body),
      ...headers,
    }),
    body,
  ];
  const check = async (
    name: string,
    expected: string,
    parts: readonly (string | Buffer)[],
    accept: (r: { status: number; json: boolean; error: string | null; closed: boolean }) => boolean,
    rawOptions: { gapMs?: number; timeoutMs?: number } = {},
  ): Promise<void> => {
    const answer = await raw(port, parts, rawOptions);
    const parsed = parse(answer.text);
    const r = { ...parsed, closed: answer.closed };
    outcomes.push({ name, expected, ...r, ms: answer.ms, ok: answer.closed && accept(r) });
  };
  const jsonError =
    (status: number, code: string) => (r: { status: number; json: boolean; error: string | null }) =>
      r.status === status && r.json && r.error === code;
  const nodeRefusal = (status: number) => (r: { status: number }) => r.status === status || r.status === 0;

  const big = Buffer.alloc(1024 * 1024, 0x20);
  const cases: [string, string, (string | Buffer)[], Parameters<typeof check>[3]][] = [
    ['control: a valid request', '200 JSON', post('{"ttl":600}'), (r) => r.status === 200 && r.json],
    ['malformed JSON', '400 invalid_request', post('{"ttl": 60,'), jsonError(400, 'invalid_request')],
    [
      'JSON with NUL and invalid UTF-8',
      '400 invalid_request',
      post(Buffer.from([0x7b, 0x00, 0xff, 0xfe, 0x7d])),
      jsonError(400, 'invalid_request'),
    ],
    [
      'JSON array instead of an object',
      '400 invalid_request',
      post('[1,2,3]'),
      jsonError(400, 'invalid_request'),
    ],
    [
      'JSON nested 5,000 deep',
      '400 invalid_request',
      post(`{"ttl":${'['.repeat(5000)}${']'.repeat(5000)}}`),
      jsonError(400, 'invalid_request'),
    ],
    [
      'ttl of the wrong type',
      '400 invalid_request',
      post('{"ttl":"forever"}'),
      jsonError(400, 'invalid_request'),
    ],
    [
      '1 MiB body (limit 16 KiB)',
      '413 payload_too_large or closed',
      post(big),
      (r) => jsonError(413, 'payload_too_large')(r) || r.status === 0,
    ],
    [
      '1 MiB chunked body',
      '413 payload_too_large or closed',
      [
        head('POST', '/v1/ice-servers', {
          Authorization: `Bearer ${token}`,
          'Content-Type': 'application/json',
          'Transfer-Encoding': 'chunked',
        }),
        `${big.length.toString(16)}\r\n`,
        big,
        '\r\n0\r\n\r\n',
      ],
      (r) => jsonError(413, 'payload_too_large')(r) || r.status === 0,
    ],
    [
      'Content-Type text/plain',
      '415 unsupported_media_type',
      post('{"ttl":60}', { 'Content-Type': 'text/plain' }),
      jsonError(415, 'unsupported_media_type'),
    ],
    [
      'Content-Type form-urlencoded',
      '415 unsupported_media_type',
      post('ttl=60', { 'Content-Type': 'application/x-www-form-urlencoded' }),
      jsonError(415, 'unsupported_media_type'),
    ],
    [
      'JSON in an unsupported charset',
      '415 unsupported_media_type',
      post('{"ttl":60}', { 'Content-Type': 'application/json; charset=iso-8859-1' }),
      jsonError(415, 'unsupported_media_type'),
    ],
    [
      'Content-Encoding gzip with garbage',
      '400 invalid_request',
      post('not gzip at all', { 'Content-Encoding': 'gzip' }),
      jsonError(400, 'invalid_request'),
    ],
    [
      'gzip bomb: 16 MiB of zeros in a 16 KiB body',
      '413 payload_too_large',
      post(gzipSync(Buffer.alloc(16 * 1024 * 1024)), { 'Content-Encoding': 'gzip' }),
      jsonError(413, 'payload_too_large'),
    ],
    [
      'Content-Encoding unknown',
      '415 JSON',
      post('{"ttl":60}', { 'Content-Encoding': 'zstd-weird' }),
      (r) => r.status === 415 && r.json,
    ],
    [
      'no Authorization',
      '401 invalid_token',
      [head('POST', '/v1/ice-servers', { 'Content-Length': 0 })],
      jsonError(401, 'invalid_token'),
    ],
    [
      '8 KiB garbage bearer token',
      '401 invalid_token',
      post('{}', { Authorization: `Bearer ${'x'.repeat(8192)}` }),
      jsonError(401, 'invalid_token'),
    ],
    [
      'one 64 KiB header',
      '431 from Node, closed',
      [head('GET', '/healthz', { 'X-Junk': 'a'.repeat(64 * 1024) })],
      nodeRefusal(431),
    ],
    [
      '3,000 headers',
      '431 from Node, closed',
      [
        `GET /healthz HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 3000 }, (_, i) => `X-H${i}: v\r\n`).join('')}\r\n`,
      ],
      nodeRefusal(431),
    ],
    [
      'a 32 KiB URL',
      '431 from Node, closed',
      [head('GET', `/v1/turn-credentials?service=turn&x=${'a'.repeat(32 * 1024)}`, {})],
      nodeRefusal(431),
    ],
    [
      'Content-Length and Transfer-Encoding together (smuggling)',
      '400 from Node, closed',
      [
        'POST /v1/ice-servers HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /admin HTTP/1.1\r\n\r\n',
      ],
      nodeRefusal(400),
    ],
    [
      'two Content-Length headers',
      '400 from Node, closed',
      [`POST /v1/ice-servers HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 40\r\n\r\n{}`],
      nodeRefusal(400),
    ],
    [
      'garbage request line',
      '400 from Node, closed',
      ['\x16\x03\x01\x02\x00 hello\r\n\r\n'],
      nodeRefusal(400),
    ],
    [
      'unknown method',
      '400 from Node or 404 JSON',
      [head('BREW', '/v1/ice-servers', {})],
      (r) => r.status === 400 || r.status === 0 || (r.status === 404 && r.json),
    ],
    [
      'unknown path',
      '404 not_found',
      [head('GET', '/v1/../../etc/passwd', {})],
      (r) => r.status === 404 || r.status === 400,
    ],
  ];
  try {
    for (const [name, expected, parts, accept] of cases) await check(name, expected, parts, accept);

    // A body trickled slower than requestTimeout allows.
    await check(
      'slow body (1 byte per 500 ms)',
      '408 or closed by requestTimeout',
      [
        head('POST', '/v1/ice-servers', {
          Authorization: `Bearer ${token}`,
          'Content-Type': 'application/json',
          'Content-Length': 200,
        }),
        ...Array.from({ length: 200 }, () => ' '),
      ],
      (r) => r.status === 408 || r.status === 0,
      { gapMs: 500, timeoutMs: settings.requestTimeout + 3 * settings.connectionsCheckingInterval + 5_000 },
    );

    // Pipelining: many requests on one connection, then the server must answer them all.
    const pipelinedText = await raw(
      port,
      [
        Array.from({ length: options.pipelined }, (_, i) =>
          i === options.pipelined - 1
            ? 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
            : 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n',
        ).join(''),
      ],
      { timeoutMs: 20_000 },
    );
    const answered = (pipelinedText.text.match(/HTTP\/1\.1 200/g) ?? []).length;

    // Slowloris: headers trickled one byte at a time; headersTimeout must close them all.
    const slowStarted = Date.now();
    const slow = await Promise.all(
      Array.from({ length: options.slowClients }, () =>
        raw(
          port,
          [
            ...'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: '.split(''),
            ...Array.from({ length: 400 }, () => 'a'),
          ],
          {
            gapMs: 250,
            timeoutMs: settings.headersTimeout + 3 * settings.connectionsCheckingInterval + 5_000,
          },
        ),
      ),
    );
    const closedByServer = slow.filter((s) => s.closed).length;
    const closedWithinMs = closedByServer === slow.length ? Math.max(...slow.map((s) => s.ms)) : null;
    outcomes.push({
      name: `slowloris: ${options.slowClients} connections trickling headers`,
      expected: 'closed by headersTimeout',
      status: 0,
      error: null,
      json: false,
      closed: closedByServer === slow.length,
      ms: Date.now() - slowStarted,
      ok: closedByServer === slow.length,
    });
    probing = false;
    await prober;
    return {
      settings,
      outcomes,
      slowloris: { connections: options.slowClients, closedByServer, closedWithinMs },
      probe,
      pipelined: { sent: options.pipelined, answered },
      errorsLogged: logger.lines.filter((l) => l.level === 'error').length,
    };
  } finally {
    probing = false;
    await prober;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await runtime.close();
    await testStore.dispose();
  }
}
