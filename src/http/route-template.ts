// The route template a request matched ('/v1/admin/tenants/:tenant'), never the raw path: ids and
// tokens in paths must not become metric labels or access-log fields.
import type { Request } from 'express';

/** The matched route template, or undefined when no route matched (404s, scanners). */
export function routeTemplateOf(req: Request): string | undefined {
  const route: unknown = req.route?.path;
  return typeof route === 'string' ? `${req.baseUrl}${route}` : undefined;
}
