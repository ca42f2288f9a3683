// What an order history may hold so that both stores keep it exactly (issue 15 point 5): the
// limits PostgreSQL's column types impose (text cannot hold NUL, integer stops at 2^31 - 1, date
// has no year 0000) applied to every store, so the file store and PostgreSQL accept the same
// histories and read them back identically, and a bad value is a 400 naming the field instead of
// a database error. parseOrderHistory (admin API and CLI import) and both stores' imports apply it.

/** Longest order id; ids are references from the order system, not documents. */
export const MAX_ORDER_ID_LENGTH = 200;
/** Most licenses one order may carry; far above any real order, far below integer overflow. */
export const MAX_LICENSES = 1_000_000;
/** The calendar range orders may fall in (receipt instants and certificate dates), inclusive. */
export const EARLIEST_ORDER_DATE = '1970-01-01';
export const LATEST_ORDER_DATE = '9999-12-31';

// C0 controls, DEL and C1 controls; lone UTF-16 surrogates cannot be stored as UTF-8 at all.
const UNSTORABLE = /[\p{Cc}\p{Cs}]/u;
// Also the TURN REST username's tenant field (src/auth/rest-username.ts).
const TENANT_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** Why `id` cannot be an order id, or null when it can. */
export function orderIdProblem(id: string): string | null {
  if (id.length === 0) return 'must be a non-empty string';
  if (id.length > MAX_ORDER_ID_LENGTH) return `must be at most ${MAX_ORDER_ID_LENGTH} characters`;
  if (UNSTORABLE.test(id)) return 'must not contain control characters or unpaired surrogates';
  return null;
}

/** Why `text` cannot be a display name (tenant name), or null when it can. */
export function displayTextProblem(text: string, maxLength: number): string | null {
  if (text.length === 0 || text.length > maxLength)
    return `must be a non-empty string of at most ${maxLength} characters`;
  if (UNSTORABLE.test(text)) return 'must not contain control characters or unpaired surrogates';
  return null;
}

/**
 * Why `tenant` cannot be a tenant id, or null when it can: 1-64 characters of A-Z a-z 0-9 . _ -,
 * and not `.` or `..`, which URLs and paths read as the current or parent segment.
 */
export function tenantIdProblem(tenant: string): string | null {
  if (!TENANT_ID.test(tenant)) return 'must be 1-64 characters of A-Z a-z 0-9 . _ -';
  if (tenant === '.' || tenant === '..') return `must not be ${JSON.stringify(tenant)}`;
  return null;
}

/** Why a 'YYYY-MM-DD' date (already a calendar date) is outside the order range, or null. */
export function orderDateProblem(date: string): string | null {
  if (date < EARLIEST_ORDER_DATE || date > LATEST_ORDER_DATE) {
    return `must fall between ${EARLIEST_ORDER_DATE} and ${LATEST_ORDER_DATE}, got ${date}`;
  }
  return null;
}
