// Node's `http` and `util` through require(), not an ESM import (issue 19, memory at rest).
//
// An `import` of a built-in module builds its ESM namespace, which reads every export of the
// module once. Node 24 (the production image's runtime) gives `http` three lazy getters,
// WebSocket, CloseEvent and MessageEvent, that load undici, Node's fetch and WebSocket
// implementation (lazy because it is "quite big": nodejs/node lib/http.js), and with it `tls`,
// `http2` and `assert`; `util` has lazy getters too (aborted, transferableAbortSignal, ...).
// Measured on Node 24.22 (a process that only loads the module, RSS after 1.2 s): `import` of
// node:http 60.3 MiB against 46.5 MiB for require('node:http'); node:util 47.0 against 43.1. An
// idle icegate node on Node 24 went from 81.9 to 78.8 MiB RSS with http and util taken this way,
// and to 76.4 with tls loaded on first use (much of undici's cost overlaps with what the node
// loads anyway). Node 20 has neither getter set; there the two forms cost the same. require()
// hands back the CommonJS exports and leaves the getters unread; the types are the modules' own.

import type * as NodeHttp from 'node:http';
import { createRequire } from 'node:module';
import type * as NodeTls from 'node:tls';
import type * as NodeUtil from 'node:util';

const load = createRequire(import.meta.url);

const http: typeof NodeHttp = load('node:http');
const util: typeof NodeUtil = load('node:util');

export const { createServer, IncomingMessage, ServerResponse } = http;
export type IncomingMessage = NodeHttp.IncomingMessage;
export type ServerResponse = NodeHttp.ServerResponse;
export const { inspect } = util;

/**
 * Node's `tls`, loaded on first use: only a node with a TLS listener (TURN_TLS_CERT) needs it, and
 * its modules (tls, its socket wrap and secure-context code) stay out of the others.
 */
export function nodeTls(): typeof NodeTls {
  return load('node:tls');
}
