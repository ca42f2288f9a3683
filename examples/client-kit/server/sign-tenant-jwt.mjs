// A customer server's token endpoint in Node (desknet's NEO side): signs a short-lived tenant JWT
// with the tenant's license key for the signed-in user, as the client kit's tokenEndpoint expects.
// HS256 with the key's secret (after the dot) as a UTF-8 string, header kid = key id, exp at most
// 10 minutes ahead, sub = an opaque user id (DESIGN.md). Needs the npm package jsonwebtoken.
//   ICEGATE_LICENSE_KEY=lk_... node sign-tenant-jwt.mjs        (a token endpoint on :3000)
import { createServer } from 'node:http';
import jwt from 'jsonwebtoken';

/** A tenant JWT for `sub`, valid `ttlSeconds` (at most 600). */
export function signTenantJwt(licenseKey, sub, ttlSeconds = 300) {
  const dot = licenseKey.indexOf('.');
  return jwt.sign({ sub }, licenseKey.slice(dot + 1), {
    algorithm: 'HS256',
    keyid: licenseKey.slice(0, dot),
    expiresIn: ttlSeconds,
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const key = process.env.ICEGATE_LICENSE_KEY;
  if (!key) throw new Error('set ICEGATE_LICENSE_KEY to the tenant license key');
  createServer((req, res) => {
    // Replace with the page's own session check: only a signed-in user gets a token.
    if (req.url !== '/icegate/token') return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify({ token: signTenantJwt(key, 'user-123') }));
  }).listen(3000);
}
