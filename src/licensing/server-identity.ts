// The identity of the desknet's NEO server a key is bound to (seed section 2(2)): whatever the
// customer registers (host name, URL, machine id). icegate only stores and shows it.
import { LicenseError } from './errors.js';

/** The longest accepted identity, in characters. */
export const SERVER_IDENTITY_MAX_LENGTH = 255;

// Control, format, surrogate, private-use and unassigned code points, and line/paragraph separators.
const UNPRINTABLE = /[\p{C}\p{Zl}\p{Zp}]/u;

/** The identity without surrounding spaces, or a reason it is not acceptable. */
export function validateServerIdentity(
  text: unknown,
): { ok: true; value: string } | { ok: false; reason: string } {
  if (typeof text !== 'string') return { ok: false, reason: 'must be a string' };
  const value = text.trim();
  if (value.length === 0) return { ok: false, reason: 'must not be empty' };
  if ([...value].length > SERVER_IDENTITY_MAX_LENGTH) {
    return { ok: false, reason: `must be at most ${SERVER_IDENTITY_MAX_LENGTH} characters` };
  }
  if (UNPRINTABLE.test(value)) return { ok: false, reason: 'must contain only printable characters' };
  return { ok: true, value };
}

/** The trimmed identity; throws LicenseError `invalid_server_identity` naming the problem. */
export function checkServerIdentity(text: unknown): string {
  const result = validateServerIdentity(text);
  if (!result.ok) throw new LicenseError('invalid_server_identity', `server identity ${result.reason}`);
  return result.value;
}
