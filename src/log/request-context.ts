// The HTTP request a piece of work belongs to, carried through async calls with AsyncLocalStorage
// so that every log line a request causes (in the routes, the store, the relay it closes
// allocations on) names its request id without each module passing it along.
import { AsyncLocalStorage } from 'node:async_hooks';

/** What is known about the current request. */
export interface RequestContext {
  readonly requestId: string;
  /** The tenant the request acts for, once a token or a path names it. */
  tenant?: string;
}

const storage = new AsyncLocalStorage<RequestContext>();

/** Runs `fn` (and everything it starts) inside `context`. */
export function runInRequest<T>(context: RequestContext, fn: () => T): T {
  return storage.run(context, fn);
}

/** The current request's context, if the caller runs on behalf of one. */
export function currentRequest(): RequestContext | undefined {
  return storage.getStore();
}

/** Records the tenant of the current request (no-op outside a request). */
export function noteRequestTenant(tenant: string): void {
  const context = storage.getStore();
  if (context !== undefined) context.tenant = tenant;
}
