// How long a minted TURN credential lives. Decision: never past the end of the tenant's
// entitlement (the JST end of its `until` day, grace included), never past CREDENTIAL_TTL_MAX,
// and never longer than the client asked for. The relay still checks the entitlement on every
// Allocate and Refresh, so this bound only keeps credentials honest, not the gate.
import { endOfJstDay } from '../entitlement/rules/index.js';
import type { Entitlement } from '../entitlement/types.js';

/** The lifetime in whole seconds (at least 1) of a credential minted at `now` (ms). */
export function credentialTtl(
  entitlement: Entitlement,
  now: number,
  maxTtl: number,
  requested?: number,
): number {
  let ttl = Math.min(maxTtl, requested ?? maxTtl);
  if (entitlement.until !== null) {
    const end = endOfJstDay(entitlement.until).getTime() + 1;
    ttl = Math.min(ttl, Math.floor((end - now) / 1000));
  }
  return Math.max(1, Math.floor(ttl));
}
