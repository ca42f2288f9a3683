// The long-term credential mechanism on the server side, RFC 8489 section 9.2.4, with TURN REST
// usernames (draft-uberti-behave-turn-rest-00 section 2.2) and stateless nonces.
import { isRestUsernameExpired, parseRestUsername } from '../auth/index.js';
import { Attr, readText, verifyIntegrity } from '../stun/index.js';
import type { TurnContext } from './context.js';
import type { TurnRequest } from './request.js';

/**
 * Authenticates `request`. On success sets `request.credentials` and returns true; otherwise it
 * has answered (400, 401 or 438) and returns false. The steps follow RFC 8489 section 9.2.4:
 * 1. no MESSAGE-INTEGRITY: 401 with REALM and NONCE (the normal first challenge);
 * 2. MESSAGE-INTEGRITY without USERNAME, REALM or NONCE: 400;
 * 3. USERNAME not a valid, unexpired REST username: 401;
 * 4. MESSAGE-INTEGRITY wrong under every live secret (rotation): 401;
 * 5. NONCE not valid any more: 438 with a fresh NONCE, signed, since the key is now known.
 * Step 5 treats a nonce that fails its MAC like an old one: the request proved the key, so the
 * nonce merely comes from another process or node, and 438 is the answer every client retries
 * on (a 401 to an authenticated Refresh ends the session in browsers).
 * 401s are not signed: the key is unknown or wrong (section 9.2.4).
 */
export function authenticate(ctx: TurnContext, request: TurnRequest): boolean {
  const message = request.message;
  if (message.integrityOffset < 0) {
    ctx.challenge(request, 401);
    return false;
  }
  const usernameValue = request.attribute(Attr.USERNAME);
  const realmValue = request.attribute(Attr.REALM);
  const nonceValue = request.attribute(Attr.NONCE);
  const username = usernameValue === undefined ? null : readText(usernameValue, Attr.USERNAME);
  const nonce = nonceValue === undefined ? null : readText(nonceValue, Attr.NONCE);
  if (username === null || realmValue === undefined || nonce === null) {
    ctx.events.authFailed?.('missing-attributes', request.tuple);
    ctx.fail(request, 400, 'Missing USERNAME, REALM or NONCE');
    return false;
  }
  const now = ctx.clock();
  const rest = parseRestUsername(username);
  if (rest === null || isRestUsernameExpired(rest, now)) {
    ctx.events.authFailed?.(rest === null ? 'bad-username' : 'expired-username', request.tuple);
    ctx.challenge(request, 401);
    return false;
  }
  // The key is derived with our realm: a client that used another realm fails the check below.
  const key = ctx.secrets.longTermKeys(username, ctx.realm).find((k) => verifyIntegrity(message, k));
  if (key === undefined) {
    ctx.events.authFailed?.('bad-integrity', request.tuple);
    ctx.challenge(request, 401);
    return false;
  }
  request.credentials = { username, rest, key };
  const verdict = ctx.nonces.check(nonce, request.tuple.clientKey, now);
  if (verdict !== 'ok') {
    ctx.events.authFailed?.(verdict === 'stale' ? 'stale-nonce' : 'invalid-nonce', request.tuple);
    ctx.challenge(request, 438);
    return false;
  }
  request.addressProven = true;
  return true;
}
