// TURN REST credentials as coturn's `turnutils_uclient -W` makes them and as icegate verifies them
// (DESIGN.md): username `<expiry-unix-seconds>:<tenant>`, password base64(HMAC-SHA1(secret, username)).
import { createHmac } from 'node:crypto';

/** A REST credential for `tenant` valid for `ttlSeconds` from now. */
export function restCredential(secret, tenant, ttlSeconds = 3600) {
  const username = `${Math.floor(Date.now() / 1000) + ttlSeconds}:${tenant}`;
  const password = createHmac('sha1', secret).update(username).digest('base64');
  return { username, password };
}
