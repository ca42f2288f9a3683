// Migration 3 (issue 15): the audit trail, and the key a self-service reissue replaced.
//
// audit_log: one row per tenant or key operation, inserted in the transaction of the change it
// records. `seq` orders rows by insertion and is the pagination cursor of GET /v1/admin/audit.
// No foreign key to tenants: a refusal may name a tenant that was never imported, and the trail
// must outlive anything it mentions.
//
// license_keys.replaces: set only by a reissue that named the key it replaces (self-service, a
// compare-and-set on that key), so revoking a key can also revoke whatever was made from it by
// its holder (the thief's successor of a stolen key). Nullable, no default: no table rewrite.

/** The audit table and the replaces column. */
export const auditTrail = `
CREATE TABLE audit_log (
  seq       bigserial PRIMARY KEY,
  at        timestamptz NOT NULL,
  tenant_id text,
  action    text NOT NULL CHECK (action IN ('orders_imported', 'key_issued', 'key_reissued', 'key_revoked',
                                            'reissue_replayed', 'revoked_key_refused')),
  outcome   text NOT NULL CHECK (outcome IN ('ok', 'no_change', 'refused')),
  actor     text NOT NULL,
  client    text,
  key_id    text,
  details   jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_log_tenant_seq ON audit_log (tenant_id, seq);
CREATE INDEX audit_log_at ON audit_log (at);

ALTER TABLE license_keys ADD COLUMN replaces text REFERENCES license_keys(key_id);
CREATE INDEX license_keys_replaces ON license_keys (replaces) WHERE replaces IS NOT NULL;
`;
