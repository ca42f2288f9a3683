// The file store's key writes as pure functions of the current state: each answers the next state
// (a copy; the current one is never touched, so a throw changes nothing), the result and the
// audit records to append in the same document replacement. The store runs them under its write
// lock; a caller that must change something else in the same write (the reissue-request queue)
// composes them.
import type { AuditContext, NewAuditRecord } from './audit.js';
import { keyFirst, reissueAuditRecord, revokeAuditRecord } from './audit-records.js';
import { StoreError } from './errors.js';
import type { FileState } from './file-document.js';
import type { NewKey, ReissueKeyOptions, ReissueKeyResult, RevokeKeyResult } from './store.js';
import { StoredKey, type StoredKeyFields } from './stored-key.js';

/** What a planned write gives the store to persist. */
export interface PlannedWrite<T> {
  /** The state to write, or null when nothing changes (audit records may still be appended). */
  next: FileState | null;
  result: T;
  audit?: NewAuditRecord[];
}

/** A copy whose maps may be changed; the records stay shared and are replaced, not edited. */
export function copyState(state: FileState): FileState {
  return {
    tenants: new Map(state.tenants),
    orders: new Map(state.orders),
    keys: new Map(state.keys),
    usage: new Map(state.usage),
    audit: state.audit,
    reissueRequests: new Map(state.reissueRequests),
  };
}

export function requireTenant(state: FileState, tenant: string): void {
  if (!state.tenants.has(tenant)) {
    throw new StoreError('unknown_tenant', `unknown tenant ${tenant}: import its orders first`);
  }
}

export function requireFreeKeyId(state: FileState, keyId: string): void {
  if (state.keys.has(keyId))
    throw new StoreError('key_conflict', `a license key with id ${keyId} already exists`);
}

export function activeKeys(state: FileState, tenant: string): StoredKeyFields[] {
  return [...state.keys.values()].filter((k) => k.tenant === tenant && k.revokedAt === null);
}

export function newKeyFields(tenant: string, key: NewKey, replaces: string | null = null): StoredKeyFields {
  return {
    ...key,
    tenant,
    revokedAt: null,
    replacedBy: null,
    requestHash: key.requestHash ?? null,
    replaces,
  };
}

/**
 * A reissue (EntitlementStore.reissueKey): with `options.replaces`, refused `key_not_active`
 * unless that key is the tenant's active key in `state` (the store holds its write lock, so
 * nothing changes between this check and the write).
 */
export function planReissue(
  state: FileState,
  tenant: string,
  key: NewKey,
  options: ReissueKeyOptions = {},
): PlannedWrite<ReissueKeyResult> {
  requireTenant(state, tenant);
  const replaces = options.replaces ?? null;
  const active = activeKeys(state, tenant);
  if (replaces !== null && !active.some((k) => k.keyId === replaces)) {
    throw new StoreError(
      'key_not_active',
      `license key ${replaces} is no longer the active key of tenant ${tenant}; nothing was reissued`,
    );
  }
  requireFreeKeyId(state, key.keyId);
  const next = copyState(state);
  const revoked: string[] = [];
  for (const old of active) {
    next.keys.set(old.keyId, { ...old, revokedAt: key.issuedAt, replacedBy: key.keyId });
    revoked.push(old.keyId);
  }
  revoked.sort();
  const fields = newKeyFields(tenant, key, replaces);
  next.keys.set(key.keyId, fields);
  return {
    next,
    result: { key: new StoredKey(fields), revoked, changes: { tenants: [tenant], revokedKeys: revoked } },
    audit: [reissueAuditRecord(options, tenant, key, revoked)],
  };
}

/**
 * A revocation (EntitlementStore.revokeKey): the key, and every key made from it by compare-and-set
 * reissues (its `replaces` descendants), revoked at `at` unless they already are.
 */
export function planRevoke(
  state: FileState,
  keyId: string,
  at: Date,
  who?: AuditContext,
): PlannedWrite<RevokeKeyResult> {
  const key = state.keys.get(keyId);
  if (key === undefined) throw new StoreError('unknown_key', `no license key has id ${keyId}`);
  const chain = [keyId];
  for (let i = 0; i < chain.length; i++) {
    for (const k of state.keys.values())
      if (k.replaces === chain[i] && !chain.includes(k.keyId)) chain.push(k.keyId);
  }
  const toRevoke = keyFirst(
    keyId,
    chain.filter((id) => state.keys.get(id)?.revokedAt === null),
  );
  const audit = [revokeAuditRecord(who, at, key.tenant, keyId, toRevoke)];
  if (toRevoke.length === 0) {
    return {
      next: null,
      result: { key: new StoredKey(key), revoked: [], changes: { tenants: [], revokedKeys: [] } },
      audit,
    };
  }
  const next = copyState(state);
  for (const id of toRevoke) {
    const k = next.keys.get(id);
    if (k !== undefined) next.keys.set(id, { ...k, revokedAt: at });
  }
  const after = next.keys.get(keyId) ?? key;
  return {
    next,
    result: {
      key: new StoredKey(after),
      revoked: toRevoke,
      changes: { tenants: [key.tenant], revokedKeys: toRevoke },
    },
    audit,
  };
}
