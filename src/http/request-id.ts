// X-Request-Id: a caller's (or a proxy's) id is kept when it is sane, so one id follows a request
// through the load balancer, icegate's access log and the caller's own logs; otherwise one is made.
import { randomUUID } from 'node:crypto';

/** The request and response header. */
export const REQUEST_ID_HEADER = 'X-Request-Id';

/** Longest accepted incoming id; longer ones are replaced, not cut (a cut id matches nothing). */
export const MAX_REQUEST_ID_LENGTH = 128;

// Visible ASCII only: no spaces, no control characters, nothing that could forge a log field.
const SANE_ID = /^[\x21-\x7e]+$/;

/** The incoming id when it is 1-128 visible ASCII characters, else a fresh UUID. */
export function requestIdFrom(incoming: string | undefined): string {
  if (incoming !== undefined && incoming.length <= MAX_REQUEST_ID_LENGTH && SANE_ID.test(incoming)) {
    return incoming;
  }
  return randomUUID();
}
