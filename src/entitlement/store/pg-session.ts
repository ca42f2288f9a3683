// Session settings every PostgreSQL connection of the store starts with (issue 15 point 5): how
// the server prints dates and timestamps follows DateStyle and TimeZone, which a role, a database
// or postgresql.conf may set to anything (`DateStyle=SQL,DMY` printed 01/03/2027 and a tenant
// read answered 500). The settings travel in the startup packet's `options`, which override
// ALTER ROLE / ALTER DATABASE defaults; date columns are also read with to_char, which no
// setting changes.

/** The `-c` switches sent at connection start. */
export const PG_SESSION_OPTIONS = '-c DateStyle=ISO,YMD -c TimeZone=UTC -c IntervalStyle=postgres';

/**
 * `databaseUrl` with PG_SESSION_OPTIONS appended to its `options` parameter (kept when the
 * operator set one: node-postgres lets the URL's parameters win over the pool's config).
 */
export function withSessionOptions(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  const existing = url.searchParams.get('options');
  url.searchParams.set(
    'options',
    existing === null || existing.trim() === '' ? PG_SESSION_OPTIONS : `${existing} ${PG_SESSION_OPTIONS}`,
  );
  return url.toString();
}
