// Secrets never reach a log line: fields with secret-bearing names are replaced, and string values
// that look like a JWT, a license key or a bearer header are masked wherever they appear.

/** Field names whose values are always replaced. */
export const SECRET_FIELD =
  /^(password|passwd|credential|credentials|secret|secrets|token|jwt|authorization|key|licensekey|license_key|adminToken|admin_token|turn_secrets|cookie)$/i;
const JWT = /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g;
const LICENSE_KEY = /\b(lk_[A-Za-z0-9]+)\.[A-Za-z0-9_-]{20,}/g;
const BEARER = /\b(Bearer)\s+[^\s"',]+/gi;

export const REDACTED = '[redacted]';

/** Every string the three patterns can match contains one of these (one scan instead of three). */
const MAY_HOLD_SECRET = /eyJ|lk_|bearer/i;

/** Masks secret-looking substrings of one string. */
export function redactText(text: string): string {
  if (!MAY_HOLD_SECRET.test(text)) return text;
  return text.replace(JWT, REDACTED).replace(LICENSE_KEY, `$1.${REDACTED}`).replace(BEARER, `$1 ${REDACTED}`);
}

/** A deep copy of `value` with secret fields and secret-looking strings masked. */
export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactText(value);
  if (value === null || typeof value !== 'object' || depth > 6) return value;
  if (value instanceof Error) return { name: value.name, message: redactText(value.message) };
  if (Buffer.isBuffer(value)) return `<${value.length} bytes>`;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    out[k] = SECRET_FIELD.test(k) && v !== undefined && v !== null ? REDACTED : redact(v, depth + 1);
  }
  return out;
}
