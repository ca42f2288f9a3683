/** The cached, fail-closed entitlement service and the factory that wires it for a process. */
export {
  createEntitlementRuntime,
  DEFAULT_REDIS_PREFIX,
  type EntitlementRuntime,
  type EntitlementRuntimeOptions,
} from './entitlement-runtime.js';
export {
  type EntitlementAnswer,
  EntitlementService,
  type EntitlementServiceOptions,
} from './entitlement-service.js';
export { EntitlementUnavailable, isEntitlementUnavailable } from './errors.js';
export { SingleFlight } from './single-flight.js';
