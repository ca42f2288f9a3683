/** The connectivity-check page served at /check. */
export { CHECK_PAGE_CSP, type CheckPageOptions, checkPageRoutes } from './check-page-routes.js';
