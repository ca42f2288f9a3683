// ISO 8601 timestamps in UTC, as Date.prototype.toISOString writes them, built from the UTC
// fields. V8's toISOString also looks up the host's time zone on its first call, which brings in
// ICU's time-zone data and code: about 0.8 MiB of the executable's pages that then stay resident
// in a node that has done nothing but log its start (memory at rest, issue 19). A log line needs
// UTC only.

function pad(value: number, width: number): string {
  return String(value).padStart(width, '0');
}

/** `ms` since the epoch as `YYYY-MM-DDTHH:mm:ss.sssZ`, equal to `new Date(ms).toISOString()`. */
export function utcIsoString(ms: number): string {
  const date = new Date(ms);
  const year = date.getUTCFullYear();
  // Outside 0000-9999 (and for an invalid time) toISOString's own form and errors apply.
  if (!(year >= 0 && year <= 9999)) return date.toISOString();
  return (
    `${pad(year, 4)}-${pad(date.getUTCMonth() + 1, 2)}-${pad(date.getUTCDate(), 2)}` +
    `T${pad(date.getUTCHours(), 2)}:${pad(date.getUTCMinutes(), 2)}:${pad(date.getUTCSeconds(), 2)}` +
    `.${pad(date.getUTCMilliseconds(), 3)}Z`
  );
}

/** The current time as utcIsoString writes it: the log lines' `timestamp`. */
export function utcTimestamp(): string {
  return utcIsoString(Date.now());
}
