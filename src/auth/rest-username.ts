/**
 * TURN REST usernames (draft-uberti-behave-turn-rest-00 section 2.2, coturn `use-auth-secret`):
 * `<expiry-unix-seconds>:<tenant-id>[:<opaque>]`.
 *
 * Decisions, so the format has exactly one spelling and every field can be logged safely:
 * - expiry: decimal digits, no sign, no leading zero (except "0" itself), at most 12 digits
 *   (up to year 33658), a safe integer.
 * - tenant id: `[A-Za-z0-9._-]{1,64}`, other than `.` and `..`.
 * - opaque: 1 to 128 visible ASCII characters (0x21-0x7E) other than ':'. Space is refused so
 *   that no username depends on trimming; an empty opaque (a trailing ':') is refused.
 * Anything else is not a REST username and parses to null.
 */

/** A parsed TURN REST username. */
export interface RestUsername {
  /** Expiry, Unix time in seconds; the credential is valid up to and including this second. */
  expiry: number;
  tenant: string;
  opaque?: string;
}

const EXPIRY_RE = /^(?:0|[1-9][0-9]{0,11})$/;
const TENANT_RE = /^[A-Za-z0-9._-]{1,64}$/;
const OPAQUE_RE = /^[\x21-\x39\x3b-\x7e]{1,128}$/;

/** Longest username this format can produce; a cheap bound before any regex runs. */
export const MAX_REST_USERNAME_LENGTH = 12 + 1 + 64 + 1 + 128;

/** Whether `tenant` is a valid tenant id for a REST username. */
export function isValidTenantId(tenant: string): boolean {
  // `.` and `..` are dot-segments in URLs and paths (issue 15 point 5; the same rule as the
  // stores', src/entitlement/rules/storable.ts).
  return TENANT_RE.test(tenant) && tenant !== '.' && tenant !== '..';
}

/** Whether `opaque` is a valid opaque suffix for a REST username. */
export function isValidOpaque(opaque: string): boolean {
  return OPAQUE_RE.test(opaque);
}

/** Parses `<expiry>:<tenant>[:<opaque>]`; null when the text is anything else. */
export function parseRestUsername(username: string): RestUsername | null {
  if (username.length > MAX_REST_USERNAME_LENGTH) return null;
  const first = username.indexOf(':');
  if (first < 0) return null;
  const expiryText = username.slice(0, first);
  if (!EXPIRY_RE.test(expiryText)) return null;
  const expiry = Number(expiryText);
  if (!Number.isSafeInteger(expiry)) return null;

  const rest = username.slice(first + 1);
  const second = rest.indexOf(':');
  const tenant = second < 0 ? rest : rest.slice(0, second);
  if (!TENANT_RE.test(tenant)) return null;
  if (second < 0) return { expiry, tenant };

  const opaque = rest.slice(second + 1);
  if (!OPAQUE_RE.test(opaque)) return null;
  return { expiry, tenant, opaque };
}

/** Formats a REST username; the caller has validated tenant and opaque. */
export function formatRestUsername(parts: RestUsername): string {
  const base = `${parts.expiry}:${parts.tenant}`;
  return parts.opaque === undefined ? base : `${base}:${parts.opaque}`;
}

/**
 * Whether the credential has expired at `nowMs` (milliseconds). As coturn does, the expiry second
 * itself is still valid; the username is refused from the next second on.
 */
export function isRestUsernameExpired(parsed: RestUsername, nowMs: number): boolean {
  return Math.floor(nowMs / 1000) > parsed.expiry;
}
