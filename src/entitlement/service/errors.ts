// Errors of the entitlement service, with the stable codes of DESIGN.md's HTTP contract.

/**
 * The entitlement cannot be decided: the store is unreachable and no cached answer is young
 * enough. Callers fail closed (HTTP 503 `entitlement_unavailable`, TURN 403).
 */
export class EntitlementUnavailable extends Error {
  override readonly name = 'EntitlementUnavailable';
  readonly code = 'entitlement_unavailable';

  /** `what` names the thing that could not be looked up, e.g. "the entitlement of tenant acme". */
  constructor(what: string, options?: { cause?: unknown }) {
    super(`cannot decide ${what} now: the entitlement store is unreachable`, options);
  }
}

/** True when `err` is an EntitlementUnavailable. */
export function isEntitlementUnavailable(err: unknown): err is EntitlementUnavailable {
  return err instanceof EntitlementUnavailable;
}
