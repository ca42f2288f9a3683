// GET /check: the connectivity-check page for a customer's network admin (issue 5). Static files
// with a Content-Security-Policy of their own, stricter than the API's: scripts, styles and fetches
// from this origin only. The page calls POST /v1/ice-servers itself, with the tenant token it is given.
import { Router as createRouter, type Response, type Router } from 'express';
import { CHECK_PAGE_HTML } from './check-page-html.js';
import { CHECK_PAGE_SCRIPT } from './check-page-script.js';
import { CHECK_PAGE_CSS } from './check-page-style.js';

/** What the page may tell the browser beyond the ICE servers. */
export interface CheckPageOptions {
  /** The relay port range (TURN_MIN_PORT, TURN_MAX_PORT), named in the firewall advice. */
  relayPorts?: { min: number; max: number };
  /**
   * Measure a data-channel round trip through the relay (two of the page's own peer connections
   * relayed to each other). It needs the server to relay between its own relayed addresses, which
   * the production peer filter refuses; default false, and the page then shows the allocation time.
   */
  measureRoundTrip?: boolean;
}

/** The page's own policy: nothing inline, nothing from elsewhere, never framed. */
export const CHECK_PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

function send(res: Response, type: string, body: string): void {
  res.setHeader('Content-Security-Policy', CHECK_PAGE_CSP);
  res.setHeader('Cache-Control', 'no-cache');
  res.type(type).send(body);
}

/** GET /check, /check/check.js, /check/check.css and /check/config.json. */
export function checkPageRoutes(options: CheckPageOptions = {}): Router {
  const router = createRouter();
  const config = JSON.stringify({
    relayPorts: options.relayPorts ?? null,
    measureRoundTrip: options.measureRoundTrip ?? false,
  });
  router.get('/check', (_req, res) => send(res, 'html', CHECK_PAGE_HTML));
  router.get('/check/check.js', (_req, res) => send(res, 'application/javascript', CHECK_PAGE_SCRIPT));
  router.get('/check/check.css', (_req, res) => send(res, 'css', CHECK_PAGE_CSS));
  router.get('/check/config.json', (_req, res) => send(res, 'json', config));
  return router;
}
