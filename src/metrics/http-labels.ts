// Label values for icegate_http_request_duration_seconds. The route is the Express route
// template ('/v1/admin/tenants/:id'), never the raw path, so ids and tokens never become labels.
import { HTTP_METHODS, type HttpMethod, type StatusClass } from './label-sets.js';

/** Route label for requests that matched no route (404s, scanners): one series, not one per path. */
export const UNMATCHED_ROUTE = 'unmatched';

const KNOWN_METHODS: ReadonlySet<string> = new Set(HTTP_METHODS);

/** Maps a request method to its label value; unusual methods share `other`. */
export function methodLabel(method: string): HttpMethod {
  const upper = method.toUpperCase();
  return KNOWN_METHODS.has(upper) ? (upper as HttpMethod) : 'other';
}

/** Maps a status code to its class; anything out of range counts as a server error. */
export function statusClass(status: number): StatusClass {
  if (status >= 100 && status < 200) return '1xx';
  if (status >= 200 && status < 300) return '2xx';
  if (status >= 300 && status < 400) return '3xx';
  if (status >= 400 && status < 500) return '4xx';
  return '5xx';
}

/** Labels of one HTTP request; `routeTemplate` is undefined when no route matched. */
export function httpRequestLabels(
  routeTemplate: string | undefined,
  method: string,
  status: number,
): { route: string; method: HttpMethod; status_class: StatusClass } {
  return {
    route: routeTemplate ?? UNMATCHED_ROUTE,
    method: methodLabel(method),
    status_class: statusClass(status),
  };
}
