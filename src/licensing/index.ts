// License keys: issue, reissue, revoke; tenant JWT verification (DESIGN.md, DOMAIN.md).
export { LicenseError, type LicenseErrorCode } from './errors.js';
export { IssuedKey } from './issued-key.js';
export {
  formatLicenseKey,
  isKeyId,
  KEY_ID_PREFIX,
  newKeyId,
  newKeySecret,
  parseLicenseKey,
} from './key-format.js';
export {
  type IssueOutcome,
  LicenseService,
  type LicenseServiceOptions,
  type ReissueOptions,
  type ReissueOutcome,
} from './license-service.js';
export {
  type FulfilOutcome,
  isRequestId,
  type NewRequestInput,
  ReissueQueue,
  type ReissueQueueOptions,
  type ReissueRequestFilter,
  type ReissueRequestState,
  type ReissueRequestView,
  requestView,
} from './reissue-queue.js';
export { REISSUE_REPLAY_WINDOW_MS, reissueRequestHash, sameRequestHash } from './reissue-request.js';
export {
  checkServerIdentity,
  SERVER_IDENTITY_MAX_LENGTH,
  validateServerIdentity,
} from './server-identity.js';
export {
  CLOCK_TOLERANCE_SECONDS,
  MAX_TOKEN_LIFETIME_SECONDS,
  type RevokedKeyRef,
  secretKeyFor,
  TenantTokenError,
  type TenantTokenErrorCode,
  type VerifiedTenantToken,
  type VerifyTenantTokenOptions,
  verifyTenantToken,
  verifyTenantTokenNow,
} from './tenant-token.js';
