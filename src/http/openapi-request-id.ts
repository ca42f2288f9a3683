// X-Request-Id in the OpenAPI document: the access-log middleware runs before every route, keeps
// a caller's sane id and returns it (or a fresh UUID) on every response, so the header is a
// reusable component referenced by every operation and every response rather than repeated.
import { MAX_REQUEST_ID_LENGTH, REQUEST_ID_HEADER } from './request-id.js';

type Json = Record<string, unknown>;

/** Component names under #/components/parameters and #/components/headers. */
const COMPONENT = 'RequestId';

/** The reusable request parameter. */
export const requestIdParameters = {
  [COMPONENT]: {
    name: REQUEST_ID_HEADER,
    in: 'header',
    required: false,
    description:
      `An id to follow the request through proxies and logs: kept when it is 1-${MAX_REQUEST_ID_LENGTH} ` +
      'visible ASCII characters, otherwise replaced by a fresh UUID (never cut). It is logged with ' +
      'the request and returned in the X-Request-Id response header.',
    schema: { type: 'string', minLength: 1, maxLength: MAX_REQUEST_ID_LENGTH, pattern: '^[\\x21-\\x7e]+$' },
  },
} as const;

/** The reusable response header. */
export const requestIdHeaders = {
  [COMPONENT]: {
    description:
      "The request's id: the caller's X-Request-Id when it was accepted, else a fresh UUID; the " +
      'access log line of the request carries it (exposed to browsers by CORS).',
    schema: { type: 'string', minLength: 1, maxLength: MAX_REQUEST_ID_LENGTH },
  },
} as const;

/** `paths` with the X-Request-Id parameter on every operation and header on every response. */
export function withRequestId(
  paths: Record<string, Record<string, Json>>,
): Record<string, Record<string, Json>> {
  const parameter = { $ref: `#/components/parameters/${COMPONENT}` };
  const header = { $ref: `#/components/headers/${COMPONENT}` };
  const out: Record<string, Record<string, Json>> = {};
  for (const [path, operations] of Object.entries(paths)) {
    out[path] = {};
    for (const [method, operation] of Object.entries(operations)) {
      const responses = (operation.responses ?? {}) as Record<string, Json>;
      // New objects throughout: response objects are shared constants between operations.
      out[path][method] = {
        ...operation,
        parameters: [...((operation.parameters as unknown[] | undefined) ?? []), parameter],
        responses: Object.fromEntries(
          Object.entries(responses).map(([status, response]) => [
            status,
            {
              ...response,
              headers: { ...((response.headers as Json | undefined) ?? {}), [REQUEST_ID_HEADER]: header },
            },
          ]),
        ),
      };
    }
  }
  return out;
}
