// The HTTP server for the Express application, with request and response objects that are born
// with the application's prototypes.
//
// Express 5 gives every request its own prototypes: app.handle() calls
// Object.setPrototypeOf(req, app.request) and Object.setPrototypeOf(res, app.response). V8 gives an
// object whose prototype changes a map of its own, so each request's req and res had maps no code
// had seen before: every property access on them (in Express, the router, body-parser, Node's
// http internals and icegate's middlewares: about 130 per credential request) missed its inline
// cache and went through the runtime's lookup, and each property the request added copied a map.
// Measured with callgrind on POST /v1/ice-servers (bench/README.md, issue 19): 38 % of the
// instructions were those lookups, and a bare Express 5 route spends half of its own the same way.
//
// Node's http server builds req and res with the classes it is given (the documented
// IncomingMessage and ServerResponse options of http.createServer). Constructors whose prototype
// IS app.request / app.response build objects that already have the prototype Express sets, so
// Express's setPrototypeOf changes nothing (V8 returns at once when the prototype is the same),
// and the maps are the same from one request to the next. The objects are what Express would have
// made: the same prototype chain (app.request -> express's request -> IncomingMessage.prototype),
// the same fields, set by Node's own constructors.
import type { Server as HttpServer, RequestListener, ServerOptions } from 'node:http';
import type { Application } from 'express';
import { createServer, IncomingMessage, ServerResponse } from '../node-builtins.js';

/** What Express keeps on every application (not in its typings): the prototypes it gives req and res. */
interface ExpressPrototypes {
  request: object;
  response: object;
}

/** Whether `fn` is a class (which cannot be called on an object made elsewhere). */
const isClass = (fn: unknown): boolean => /^class\b/.test(Function.prototype.toString.call(fn));

/**
 * The constructors http.createServer takes, building objects with the app's prototypes; empty
 * (Node's own classes, Express sets the prototypes per request) on a Node whose IncomingMessage or
 * ServerResponse is a class.
 */
export function appPrototypes(app: Application): {
  IncomingMessage?: typeof IncomingMessage;
  ServerResponse?: typeof ServerResponse;
} {
  if (isClass(IncomingMessage) || isClass(ServerResponse)) return {};
  const { request, response } = app as unknown as ExpressPrototypes;
  // Function constructors, not classes: a class's prototype cannot be replaced by app.request.
  // Node 20's IncomingMessage and ServerResponse are plain functions, so calling them on `this`
  // initialises the object exactly as `new` would.
  function AppRequest(this: IncomingMessage, socket: ConstructorParameters<typeof IncomingMessage>[0]) {
    Reflect.apply(IncomingMessage, this, [socket]);
  }
  AppRequest.prototype = request;
  function AppResponse(this: ServerResponse, req: IncomingMessage, options?: unknown) {
    Reflect.apply(ServerResponse, this, [req, options]);
  }
  AppResponse.prototype = response;
  return {
    IncomingMessage: AppRequest as unknown as typeof IncomingMessage,
    ServerResponse: AppResponse as unknown as typeof ServerResponse,
  };
}

/** http.createServer(options, app), its requests and responses built with the app's prototypes. */
export function createAppServer(app: Application, options: ServerOptions = {}): HttpServer {
  return createServer({ ...options, ...appPrototypes(app) }, app as unknown as RequestListener);
}
