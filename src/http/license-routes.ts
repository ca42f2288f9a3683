// Self-service key reissue (DESIGN.md, DOMAIN.md "License keys"): a tenant JWT signed with the
// current key asks for a new key bound to a new server; the old key is revoked at once and the
// fleet is told, so tokens of the old key are refused on every node within a second.
//
// Retries: the reissue and the revocation commit together, but the answer can still be lost
// (PostgreSQL committed and the COMMIT reply was cut off; the caller saw a 5xx or nothing). The
// caller then holds only the revoked key. With an Idempotency-Key header the new key is stored
// with the request's hash, and a retry signed with the revoked key and carrying the same value
// and server is answered with that same key (a replay: nothing written). The replay announces
// the revocation and the new key to the fleet again: the first announcement came after the COMMIT
// and was lost with the answer, so other nodes may still hold the old key as active.
import { Router as createRouter, type Router } from 'express';
import { z } from 'zod';
import type { TenantEvents } from '../entitlement/cache/tenant-events.js';
import type { IssuedKey, LicenseService, VerifiedTenantToken } from '../licensing/index.js';
import type { NoisyAudit } from '../licensing/noisy-audit.js';
import type { Logger } from '../log/logger.js';
import { idempotencyKeyOf } from './idempotency-key.js';
import type { RouteIntake } from './intake.js';
import { parseBody } from './json-body.js';
import { publishChanges } from './tenant-changes.js';
import { admitReissue, admitTenant, type ReissueAdmission, type TenantGateDeps } from './tenant-gate.js';

/** What the reissue route needs. */
export interface LicenseRouteDeps {
  intake: RouteIntake;
  /**
   * The tenant gate; its `keys` should read the store itself rather than a cache: whether the
   * signing key is still active decides between a reissue and a replay, and after a lost
   * COMMIT reply no node was told that it was revoked.
   */
  gate: TenantGateDeps;
  licenses: Pick<LicenseService, 'reissue' | 'replayReissue'>;
  events: Pick<TenantEvents, 'publish'>;
  logger: Logger;
  clock: () => number;
  /** Where replays are recorded (aggregated); absent: not recorded. */
  noisyAudit?: Pick<NoisyAudit, 'note'>;
}

/** The body naming the server a key is bound to. */
export const serverBody = z.object({
  server: z.string({ error: 'must be a string (the server identity)' }).min(1, 'must not be empty').max(255),
});

/** The answer of a reissue or its replay: the new key, shown to the caller only. */
function keyAnswer(issued: IssuedKey): { keyId: string; key: string } {
  return { keyId: issued.keyId, key: issued.reveal() };
}

/** POST /v1/license-keys/reissue. */
export function licenseRoutes(deps: LicenseRouteDeps): Router {
  const router = createRouter();
  router.post('/v1/license-keys/reissue', deps.intake.ipLimit, ...deps.intake.body, async (req, res) => {
    const idempotencyKey = idempotencyKeyOf(req);
    const body = parseBody(serverBody, req.body);
    const now = deps.clock();
    const client = req.ip ?? null;
    if (idempotencyKey === null) {
      const { token } = await admitTenant(req, deps.gate, now);
      res.json(keyAnswer(await reissue(deps, token, body.server, now, client)));
      return;
    }
    const admission = await admitReissue(req, deps.gate, now);
    if (admission.kind === 'admitted') {
      const { token } = admission.admitted;
      res.json(keyAnswer(await reissue(deps, token, body.server, now, client, idempotencyKey)));
      return;
    }
    res.json(keyAnswer(await replay(deps, admission, body.server, now, client, idempotencyKey)));
  });
  return router;
}

/**
 * A new key for the token's tenant; the old one revoked, and the fleet told. The store writes it
 * only while the signing key is still the tenant's active key (compare-and-set): a request that
 * passed the gate just before its key was reissued or revoked is refused `license_revoked`.
 */
async function reissue(
  deps: LicenseRouteDeps,
  token: VerifiedTenantToken,
  server: string,
  now: number,
  client: string | null,
  idempotencyKey?: string,
): Promise<IssuedKey> {
  // A write that failed as unavailable may have committed (its reply lost): then the signing key
  // is revoked and nobody was told. Every node is asked to re-read it rather than wait for its
  // cache to expire (a node that cannot reach the store meanwhile answers 503 for this tenant's
  // tokens, as for any key it has not seen recently).
  const onOutcomeUnknown = () =>
    deps.events.publish({ tenant: token.tenant, kind: 'key_uncertain', keyId: token.keyId });
  const outcome = await deps.licenses.reissue(token.tenant, server, new Date(now), {
    onOutcomeUnknown,
    replaces: token.keyId,
    audit: { actor: `key:${token.keyId}`, client },
    ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
  });
  const revokedKeys = [...new Set([...outcome.changes.revokedKeys, ...outcome.revoked])];
  await publishChanges(deps.events, token.tenant, { ...outcome.changes, revokedKeys }, outcome.issued.keyId);
  return outcome.issued;
}

/**
 * The key a lost answer carried, or the revoked key's refusal (401 license_revoked) as always.
 * A replay tells the fleet again that the old key is revoked and the new one issued (repeating a
 * change is harmless; missing it leaves the old key usable on other nodes until their caches
 * expire).
 */
async function replay(
  deps: LicenseRouteDeps,
  admission: Extract<ReissueAdmission, { kind: 'revoked' }>,
  server: string,
  now: number,
  client: string | null,
  idempotencyKey: string,
): Promise<IssuedKey> {
  const { token, refusal } = admission;
  const replayed = await deps.licenses.replayReissue(token.key, idempotencyKey, server, new Date(now));
  if (replayed === null) throw refusal;
  await publishChanges(
    deps.events,
    token.tenant,
    { tenants: [token.tenant], revokedKeys: [token.keyId] },
    replayed.keyId,
  );
  deps.logger.info('license key reissue replayed', {
    tenant: token.tenant,
    keyId: token.keyId,
    newKeyId: replayed.keyId,
  });
  deps.noisyAudit?.note({
    action: 'reissue_replayed',
    tenant: token.tenant,
    keyId: token.keyId,
    client,
    route: 'POST /v1/license-keys/reissue',
    details: { newKeyId: replayed.keyId },
  });
  return replayed;
}
