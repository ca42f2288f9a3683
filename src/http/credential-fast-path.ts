// POST /v1/ice-servers without Express's per-request machinery (issue 19 point 4). The endpoint is
// the hot path of the HTTP API (a browser asks for it before every call), and Express's router,
// request/response decoration, helmet's dozen middlewares and body-parser cost more than the
// endpoint's own work (token, limits, entitlement, credential). This handler answers the plain
// form of the request itself, doing what the Express stack does for it, step by step in the same
// order (app.ts): access log and request id, request metrics, helmet's headers (taken from helmet
// itself at start), Cache-Control: no-store, the credential outcome metric, the per-IP limit, the
// JSON body (16 kB, strict), then the route (credential-routes.ts) and, on a refusal, the error
// middlewares (audit of revoked keys, error handler).
//
// "Plain" is decided from the request line and headers alone, before anything is read: POST to
// exactly /v1/ice-servers, no Origin header (CORS), a body that is absent or declared JSON in
// UTF-8 with a Content-Length of at most BODY_LIMIT_BYTES, no Content-Encoding, no chunked body.
// Every other request (another path spelling, a query string, a browser's CORS request, gzip,
// another charset) goes to Express unchanged, so nothing rare is re-implemented here.
// test/unit/http/credential-fast-path.test.ts holds the two paths' answers equal.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Application, Request } from 'express';
import helmet from 'helmet';
import type { NoisyAudit } from '../licensing/noisy-audit.js';
import { TenantTokenError } from '../licensing/tenant-token.js';
import type { Logger } from '../log/logger.js';
import { type RequestContext, runInRequest } from '../log/request-context.js';
import { httpRequestLabels } from '../metrics/http-labels.js';
import { CREDENTIAL_OUTCOMES, type CredentialOutcome } from '../metrics/label-sets.js';
import type { IcegateMetrics } from '../metrics/metrics.js';
import { QUIET_ROUTES } from './access-log.js';
import { toHttpError } from './error-mapping.js';
import { type ErrorBody, HttpError } from './http-error.js';
import { clientKey } from './rate-limit/client-key.js';
import { enforceRateLimit } from './rate-limit/rate-limit-policy.js';
import type { RateLimiter, RateLimitRule } from './rate-limit/rate-limiter.js';
import { REQUEST_ID_HEADER, requestIdFrom } from './request-id.js';

/** The route this handler answers, as Express's route template (metric label, access log). */
export const FAST_ROUTE = '/v1/ice-servers';
/** BODY_LIMIT of app.ts in bytes ('16kb'). */
export const BODY_LIMIT_BYTES = 16 * 1024;

const OUTCOMES: ReadonlySet<string> = new Set(CREDENTIAL_OUTCOMES);
const JSON_TYPES: ReadonlySet<string> = new Set(['application/json', 'application/json; charset=utf-8']);
const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';
/** body-parser's strict mode: the first character that is not JSON whitespace opens an object or array. */
const FIRST_CHAR = /^[ \t\n\r]*([^ \t\n\r])/;

/** One response header as helmet sets it: a value, or removed. */
type HeaderStep = readonly [name: string, value: string | number | readonly string[] | null];

/**
 * What helmet() does to a response, recorded once by running it against a recording response.
 * helmet's headers depend on its options only, never on the request.
 */
export function recordHelmetHeaders(): readonly HeaderStep[] {
  const steps: HeaderStep[] = [];
  const res = {
    setHeader(name: string, value: string | number | readonly string[]) {
      steps.push([name, value]);
      return res;
    },
    removeHeader(name: string) {
      steps.push([name, null]);
    },
    getHeader() {
      return undefined;
    },
  };
  let done = false;
  helmet()({} as never, res as never, () => {
    done = true;
  });
  if (!done) throw new Error('helmet did not finish synchronously');
  return steps;
}

/** What the fast path needs: the parts of the app's deps the Express stack of the route uses. */
export interface CredentialFastPathDeps {
  app: Application;
  logger: Logger;
  metrics?: IcegateMetrics;
  limiter: RateLimiter;
  perIp: RateLimitRule;
  noisyAudit?: Pick<NoisyAudit, 'note'>;
  clock: () => number;
  /** The route's own work: validates the parsed body and answers the response object to send. */
  answer(req: Request, body: unknown, now: number): Promise<unknown>;
}

/** Handles plain POST /v1/ice-servers requests; `handle` returns false for every other request. */
export class CredentialFastPath {
  readonly #helmet = recordHelmetHeaders();
  readonly #access: Logger;
  readonly #errors: Logger;
  /** Express's request prototype of this app (req.ip with its 'trust proxy' setting, req.get). */
  readonly #requestProto: object;

  constructor(private readonly deps: CredentialFastPathDeps) {
    this.#access = deps.logger.child({ component: 'access' });
    this.#errors = deps.logger.child({ component: 'http' });
    this.#requestProto = (deps.app as unknown as { request: object }).request;
  }

  /** The request as the route sees it: Express's request prototype over the node request's fields. */
  #expressView(req: IncomingMessage): Request {
    return Object.assign(Object.create(this.#requestProto) as Request, {
      headers: req.headers,
      method: req.method,
      url: req.url,
      socket: req.socket,
      connection: req.socket,
    });
  }

  /** Whether this handler answers `req` (see the header comment); decided before any read. */
  static accepts(req: IncomingMessage): boolean {
    if (req.method !== 'POST' || req.url !== FAST_ROUTE) return false;
    const h = req.headers;
    if (h.origin !== undefined || h['transfer-encoding'] !== undefined) return false;
    if (h['content-encoding'] !== undefined) return false;
    const length = h['content-length'];
    if (length === undefined) return false;
    if (!/^\d{1,5}$/.test(length) || Number(length) > BODY_LIMIT_BYTES) return false;
    const type = h['content-type'];
    if (type === undefined) return length === '0';
    return JSON_TYPES.has(type.toLowerCase());
  }

  /** Answers `req` when it is a plain credential request; false (nothing done) otherwise. */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    if (!CredentialFastPath.accepts(req)) return false;
    const context: RequestContext = { requestId: requestIdFrom(headerText(req.headers['x-request-id'])) };
    res.setHeader(REQUEST_ID_HEADER, context.requestId);
    const started = process.hrtime.bigint();
    const outcome = { errorCode: undefined as string | undefined };
    this.#whenDone(req, res, context, started, outcome);
    for (const [name, value] of this.#helmet) {
      if (value === null) res.removeHeader(name);
      else res.setHeader(name, value);
    }
    res.setHeader('Cache-Control', 'no-store');
    const view = this.#expressView(req);
    runInRequest(context, () => {
      this.#serve(req, view, res, outcome).catch((err: unknown) =>
        this.#refuse(req, view, res, outcome, err),
      );
    });
    return true;
  }

  async #serve(
    req: IncomingMessage,
    view: Request,
    res: ServerResponse,
    outcome: { errorCode?: string | undefined },
  ) {
    const { deps } = this;
    await enforceRateLimit(deps.limiter, 'ip', clientKey(view.ip), deps.perIp, deps.clock());
    const body = await readJsonBody(req);
    const answer = await deps.answer(view, body, deps.clock());
    const text = JSON.stringify(answer);
    outcome.errorCode = undefined;
    res.statusCode = 200;
    res.setHeader('Content-Type', JSON_CONTENT_TYPE);
    res.setHeader('Content-Length', Buffer.byteLength(text));
    res.end(text);
  }

  /** The error middlewares of app.ts for this route: audit of revoked keys, then errorHandler. */
  #refuse(
    req: IncomingMessage,
    view: Request,
    res: ServerResponse,
    outcome: { errorCode?: string | undefined },
    err: unknown,
  ) {
    const { deps } = this;
    if (
      deps.noisyAudit !== undefined &&
      err instanceof TenantTokenError &&
      err.code === 'license_revoked' &&
      err.revokedKey !== null
    ) {
      deps.noisyAudit.note({
        action: 'revoked_key_refused',
        tenant: err.revokedKey.tenant,
        keyId: err.revokedKey.keyId,
        client: view.ip ?? null,
        route: `POST ${FAST_ROUTE}`,
      });
    }
    const refusal = toHttpError(err);
    if (refusal === null) {
      this.#errors.error('request failed', {
        method: 'POST',
        path: FAST_ROUTE,
        error: err instanceof Error ? err.message : String(err),
        stack: err instanceof Error ? err.stack : undefined,
      });
    }
    if (res.headersSent) {
      req.socket.destroy();
      return;
    }
    const error = refusal ?? new HttpError('internal_error', 'internal error');
    outcome.errorCode = error.code;
    for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
    const body: ErrorBody = { error: error.code, message: error.message };
    const text = JSON.stringify(body);
    res.statusCode = error.status;
    res.setHeader('Content-Type', JSON_CONTENT_TYPE);
    res.setHeader('Content-Length', Buffer.byteLength(text));
    res.end(text);
  }

  /** The access log line, the latency histogram and the credential outcome, as app.ts records them. */
  #whenDone(
    req: IncomingMessage,
    res: ServerResponse,
    context: RequestContext,
    started: bigint,
    outcome: { errorCode?: string | undefined },
  ): void {
    const { metrics } = this.deps;
    let logged = false;
    const log = (aborted: boolean) => {
      if (logged) return;
      logged = true;
      const line = {
        requestId: context.requestId,
        method: req.method,
        route: FAST_ROUTE,
        status: res.statusCode,
        durationMs: Math.round(Number(process.hrtime.bigint() - started) / 1e4) / 100,
        ...(context.tenant === undefined ? {} : { tenant: context.tenant }),
        ...(aborted ? { aborted: true } : {}),
      };
      if (QUIET_ROUTES.has(FAST_ROUTE)) this.#access.debug('http request', line);
      else this.#access.info('http request', line);
    };
    res.on('finish', () => {
      log(false);
      if (metrics === undefined) return;
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      metrics.httpRequestDuration.observe(httpRequestLabels(FAST_ROUTE, 'POST', res.statusCode), seconds);
      const code = outcome.errorCode;
      const result = res.statusCode < 400 ? 'ok' : typeof code === 'string' ? code : 'internal_error';
      if (OUTCOMES.has(result)) {
        metrics.credentialRequests.inc({ api: 'ice_servers', outcome: result as CredentialOutcome });
      }
    });
    res.on('close', () => log(!res.writableFinished));
  }
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

/** A refusal shaped like body-parser's errors, so toHttpError maps it as it maps theirs. */
function bodyError(type: string, status: number, message: string): Error {
  return Object.assign(new Error(message), { type, status, expose: true });
}

/**
 * The body as express.json({ limit: '16kb', strict: true }) parses it for a request `accepts`
 * let through: undefined when there is none to parse (no Content-Type, Content-Length 0), {} for
 * an empty JSON body, else the parsed object or array.
 */
function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const declaredJson = req.headers['content-type'] !== undefined;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      if (!declaredJson) {
        resolve(undefined);
        return;
      }
      const text = (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)).toString('utf8');
      if (text.length === 0) {
        resolve({});
        return;
      }
      const first = FIRST_CHAR.exec(text)?.[1];
      if (first !== '{' && first !== '[') {
        reject(bodyError('entity.parse.failed', 400, 'request body is not valid JSON'));
        return;
      }
      try {
        resolve(JSON.parse(text));
      } catch {
        reject(bodyError('entity.parse.failed', 400, 'request body is not valid JSON'));
      }
    };
    const onAborted = () => {
      cleanup();
      reject(bodyError('request.aborted', 400, 'request aborted'));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('aborted', onAborted);
      req.off('error', onError);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('aborted', onAborted);
    req.on('error', onError);
  });
}
