/** The sans-I/O TURN server core (RFC 8656): the public surface for transports and the composition root. */
export { USER_QUOTA_REASON } from './allocate.js';
export type { AllocationEndReason, AllocationView } from './allocation.js';
export { MAX_BINDABLE_CHANNEL, MIN_BINDABLE_CHANNEL } from './channel-number.js';
export type { KeySource, NonceSource } from './context.js';
export { TurnConfigError, type TurnConfigErrorCode } from './errors.js';
export { type ClientTransport, FiveTuple } from './five-tuple.js';
export type {
  ActionSink,
  AuthDecision,
  AuthFailureReason,
  AuthorizeContext,
  AuthorizeMethod,
  BoundRelay,
  DropReason,
  PeerVerdict,
  RelayChannel,
  RelayFailure,
  RelayRequest,
  RelayTable,
  RelayTableCause,
  TurnEvents,
  TurnPolicy,
} from './hooks.js';
export { DEFAULT_TURN_LIMITS, resolveLimits, type TurnLimits } from './limits.js';
export { TurnServer, type TurnServerOptions } from './server.js';
export { TrafficCounters } from './traffic.js';
