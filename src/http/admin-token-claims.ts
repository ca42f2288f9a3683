// The registered claims an admin JWT must carry (issue 15 point 4), shared by the verifier
// (admin-auth.ts) and the minter (composition/admin-token.ts, the CLI): a token signed with the
// same secret for another service (another `iss` or `aud`) or for a century is refused.

/** `iss` of every admin token: icegate itself mints them. */
export const ADMIN_TOKEN_ISSUER = 'icegate';
/** `aud` of every admin token: the admin API, not the tenant credential endpoint or anything else. */
export const ADMIN_TOKEN_AUDIENCE = 'icegate-admin';
/** Longest admin token life, checked by the server (exp - now) and by `icegate admin-token --ttl`. */
export const MAX_ADMIN_TOKEN_TTL_SECONDS = 365 * 86_400;
