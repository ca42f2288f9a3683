// Issue, reissue and revoke license keys (DOMAIN.md "License keys", seed 2(2)) over the
// entitlement store and the support rules. Every result carries the store's changes so the
// caller can tell other nodes at once (issue 4: revoked keys refused within seconds).
import { entitlementAt } from '../entitlement/rules/index.js';
import {
  type AuditContext,
  type EntitlementStore,
  isStoreError,
  type NewKey,
  type ReissueKeyResult,
  type RevokeKeyResult,
  type StoreChanges,
  type StoredKey,
  StoreError,
} from '../entitlement/store/index.js';
import type { Entitlement } from '../entitlement/types.js';
import { LicenseError } from './errors.js';
import { IssuedKey } from './issued-key.js';
import { isKeyId, newKeyId, newKeySecret } from './key-format.js';
import { REISSUE_REPLAY_WINDOW_MS, reissueRequestHash, sameRequestHash } from './reissue-request.js';
import { checkServerIdentity, validateServerIdentity } from './server-identity.js';
import { TenantTokenError } from './tenant-token.js';

/** Options of the license service. */
export interface LicenseServiceOptions {
  /** Grace days after support ends during which reissue is still allowed; default 0. */
  graceDays?: number;
}

/** The outcome of `issue`. */
export interface IssueOutcome {
  issued: IssuedKey;
  changes: StoreChanges;
}

/** The outcome of `reissue`: the new key, the keys it revoked, and the entitlement that allowed it. */
export interface ReissueOutcome {
  issued: IssuedKey;
  revoked: string[];
  entitlement: Entitlement;
  changes: StoreChanges;
}

const INACTIVE_REASONS: Record<Entitlement['state'], string> = {
  active: 'support is active',
  grace: 'support is in grace',
  not_started: 'support has not started yet',
  expired: 'support has expired',
  none: 'the tenant has no accepted support order',
  unknown: 'the tenant was never imported',
};

/** Options of `reissue`. */
export interface ReissueOptions {
  /** Overrides the service's grace days for this call. */
  graceDays?: number;
  /**
   * The Idempotency-Key of a self-service request: its hash (with the tenant) is stored with
   * the new key in the reissue's transaction, so a retry can be replayed (`replayReissue`).
   */
  idempotencyKey?: string;
  /**
   * Called (and awaited; its own failure ignored) when the store write fails as unavailable:
   * the transaction may have committed with its reply lost, so whether the old key is revoked
   * is unknown. The HTTP route tells the fleet to re-read the key rather than trust its cache.
   */
  onOutcomeUnknown?: () => Promise<void> | void;
  /**
   * Self-service: the signing key. The reissue is written only while it is still the tenant's
   * active key (a compare-and-set in the store's transaction); otherwise it is refused with
   * `license_revoked`, as the key would be refused at the gate a moment later. Admin and CLI
   * reissues name none and replace whichever key is active.
   */
  replaces?: string;
  /** Who asks, for the audit record written with the new key. */
  audit?: AuditContext;
}

/** Ids are 100 random bits, so a collision is a fluke; retry a couple of times, then give up. */
const KEY_ID_ATTEMPTS = 3;

/** License-key operations over a store. */
export class LicenseService {
  readonly #store: EntitlementStore;
  readonly #graceDays: number;

  constructor(store: EntitlementStore, options: LicenseServiceOptions = {}) {
    this.#store = store;
    this.#graceDays = options.graceDays ?? 0;
  }

  /**
   * Issues a tenant's key bound to `serverIdentity`. Store errors: `unknown_tenant`,
   * `active_key_exists` (a tenant holds one key at a time: use reissue).
   */
  async issue(
    tenant: string,
    serverIdentity: string,
    now: Date = new Date(),
    audit?: AuditContext,
  ): Promise<IssueOutcome> {
    const server = checkServerIdentity(serverIdentity);
    const result = await this.#withFreshKeyId((key) => this.#store.issueKey(tenant, key, audit), server, now);
    return { issued: new IssuedKey(result.key), changes: result.changes };
  }

  /**
   * Issues a new key bound to `serverIdentity` and revokes the tenant's current key in the same
   * transaction. Refused with `support_inactive` unless the tenant's support is active or in
   * grace at `now`; `unknown_tenant` from the store for a tenant never imported.
   */
  async reissue(
    tenant: string,
    serverIdentity: string,
    now: Date = new Date(),
    options: ReissueOptions = {},
  ): Promise<ReissueOutcome> {
    const server = checkServerIdentity(serverIdentity);
    const entitlement = await this.requireReissueAllowed(tenant, now, options.graceDays);
    const requestHash =
      options.idempotencyKey === undefined ? null : reissueRequestHash(tenant, options.idempotencyKey);
    let result: ReissueKeyResult;
    try {
      result = await this.#withFreshKeyId(
        (key) =>
          this.#store.reissueKey(
            tenant,
            { ...key, requestHash },
            {
              ...(options.replaces === undefined ? {} : { replaces: options.replaces }),
              ...(options.audit === undefined ? {} : { audit: options.audit }),
            },
          ),
        server,
        now,
      );
    } catch (err) {
      if (isStoreError(err, 'key_not_active') && options.replaces !== undefined) {
        // Lost the race against another reissue or a revocation of the signing key.
        throw new TenantTokenError(
          'license_revoked',
          'the license key of this token has been revoked',
          null,
          {
            keyId: options.replaces,
            tenant,
          },
        );
      }
      if (isStoreError(err, 'store_unavailable') && options.onOutcomeUnknown !== undefined) {
        await Promise.resolve()
          .then(options.onOutcomeUnknown)
          .catch(() => undefined);
      }
      throw err;
    }
    return {
      issued: new IssuedKey(result.key),
      revoked: result.revoked,
      entitlement,
      changes: result.changes,
    };
  }

  /**
   * The tenant's entitlement at `now` when a reissue is allowed then (support active or in
   * grace); `support_inactive` otherwise, `unknown_tenant` for a tenant never imported. The
   * reissue-request queue checks the same when a request arrives.
   */
  async requireReissueAllowed(tenant: string, now: Date, graceDays?: number): Promise<Entitlement> {
    const history = await this.#store.orderHistory(tenant);
    if (history === null)
      throw new StoreError('unknown_tenant', `unknown tenant ${tenant}: import its orders first`);
    const entitlement = entitlementAt(history, now, { graceDays: graceDays ?? this.#graceDays });
    if (entitlement.state !== 'active' && entitlement.state !== 'grace') {
      throw new LicenseError(
        'support_inactive',
        `license keys of tenant ${tenant} can be reissued only while annual support is active; ` +
          `at ${now.toISOString()} ${INACTIVE_REASONS[entitlement.state]}`,
      );
    }
    return entitlement;
  }

  /**
   * The answer to a retry of a self-service reissue whose answer was lost (the reissue committed,
   * the reply did not reach the caller, who still holds the now revoked `revoked` key): the key
   * that replaced `revoked`, when that key was created by a request with this tenant and
   * `idempotencyKey`, for this server, at most REISSUE_REPLAY_WINDOW_MS before `now`, and is still
   * in force. Null otherwise, and the caller refuses the revoked key as always: a stolen old key
   * without the caller's idempotency value cannot fetch its successor. Writes nothing; reads the
   * successor from the store itself, not a cache, so a successor revoked meanwhile is not handed out.
   */
  async replayReissue(
    revoked: StoredKey,
    idempotencyKey: string,
    serverIdentity: unknown,
    now: Date = new Date(),
  ): Promise<IssuedKey | null> {
    if (revoked.revokedAt === null || revoked.replacedBy === null) return null;
    const server = validateServerIdentity(serverIdentity);
    if (!server.ok) return null;
    const successor = await this.#store.getKey(revoked.replacedBy);
    if (successor === null || successor.revoked || successor.tenant !== revoked.tenant) return null;
    if (!sameRequestHash(successor.requestHash, reissueRequestHash(revoked.tenant, idempotencyKey))) {
      return null;
    }
    if (successor.serverIdentity !== server.value) return null;
    if (now.getTime() - successor.issuedAt.getTime() > REISSUE_REPLAY_WINDOW_MS) return null;
    return new IssuedKey(successor);
  }

  /**
   * Revokes a key at `now`, and the tenant's key in force if it was made from this one by
   * self-service reissues (whoever held the revoked key could have made it); revoking a revoked
   * key without such a descendant is a no-op. Store error: `unknown_key`.
   */
  async revoke(keyId: string, now: Date = new Date(), audit?: AuditContext): Promise<RevokeKeyResult> {
    if (!isKeyId(keyId)) {
      throw new LicenseError('invalid_key_id', 'a key id is lk_ followed by 20 characters a-z and 2-7');
    }
    return this.#store.revokeKey(keyId, now, audit);
  }

  async #withFreshKeyId<T>(
    write: (key: NewKey) => Promise<T>,
    serverIdentity: string,
    now: Date,
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await write({ keyId: newKeyId(), secret: newKeySecret(), serverIdentity, issuedAt: now });
      } catch (err) {
        if (!isStoreError(err, 'key_conflict') || attempt >= KEY_ID_ATTEMPTS) throw err;
      }
    }
  }
}
