import type { TurnContext } from './context.js';
import type { AuthDecision, AuthorizeContext } from './hooks.js';

const ALLOW: AuthDecision = Object.freeze({ allowed: true });

/**
 * Runs the authorize hook and calls `then` with its decision: at once when the hook answers
 * synchronously (or is absent), later when it returns a promise. A hook that throws or rejects
 * yields null (the caller answers 500 and changes nothing: fail closed, but do not punish).
 */
export function settleDecision(
  ctx: TurnContext,
  tenant: string,
  username: string,
  context: AuthorizeContext,
  then: (decision: AuthDecision | null) => void,
): void {
  const authorize = ctx.policy.authorize;
  if (authorize === undefined) {
    then(ALLOW);
    return;
  }
  let result: AuthDecision | PromiseLike<AuthDecision>;
  try {
    result = authorize.call(ctx.policy, tenant, username, context);
  } catch {
    then(null);
    return;
  }
  if (isThenable(result)) {
    Promise.resolve(result).then(
      (decision) => then(decision),
      () => then(null),
    );
  } else {
    then(result);
  }
}

function isThenable(value: AuthDecision | PromiseLike<AuthDecision>): value is PromiseLike<AuthDecision> {
  return typeof (value as Partial<PromiseLike<AuthDecision>>).then === 'function';
}
