// jsonwebtoken, loaded the first time a token is signed, verified or decoded. With it Node loads
// about 80 CommonJS modules (jws, jwa, the lodash.* checks and all of semver, which it uses once,
// to test the Node version), about 0.8 MiB of an idle node's RSS (memory at rest, issue 19: a
// restarted embedded node 61.6 -> 60.8 MiB), while a running node needs it only for admin
// requests, tenant tokens and the admin token of a first embedded start. The module is jsonwebtoken's own export, as `import jwt from` gives it.
import { createRequire } from 'node:module';
import type * as JsonWebToken from 'jsonwebtoken';

export type { JwtHeader, JwtPayload } from 'jsonwebtoken';

const requireFromHere = createRequire(import.meta.url);
let loaded: typeof JsonWebToken | undefined;

/** jsonwebtoken's module, loaded at the first call. */
export function jsonwebtoken(): typeof JsonWebToken {
  loaded ??= requireFromHere('jsonwebtoken') as typeof JsonWebToken;
  return loaded;
}
