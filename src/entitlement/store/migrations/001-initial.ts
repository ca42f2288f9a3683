// Migration 1: tenants, orders with the rules' verdict, license keys, daily usage.
// Runs with search_path set to the store's schema, so names are unqualified.

/** Tables of the first release. */
export const initial = `
CREATE TABLE tenants (
  id          text PRIMARY KEY,
  name        text,
  created_at  timestamptz NOT NULL
);

CREATE TABLE orders (
  tenant_id          text NOT NULL REFERENCES tenants(id),
  order_id           text NOT NULL,
  kind               text NOT NULL CHECK (kind IN ('initial', 'renewal', 'recontinuation', 'additional')),
  received_at        timestamptz NOT NULL,
  licenses           integer NOT NULL,
  certificate_start  date,
  certificate_end    date,
  imported_at        timestamptz NOT NULL,
  status             text NOT NULL CHECK (status IN ('accepted', 'rejected')),
  rejection_code     text,
  rejection_message  text,
  PRIMARY KEY (tenant_id, order_id),
  CHECK ((certificate_start IS NULL) = (certificate_end IS NULL)),
  CHECK ((status = 'rejected') = (rejection_code IS NOT NULL))
);

CREATE TABLE license_keys (
  key_id           text PRIMARY KEY,
  tenant_id        text NOT NULL REFERENCES tenants(id),
  server_identity  text NOT NULL,
  secret           text NOT NULL,
  issued_at        timestamptz NOT NULL,
  revoked_at       timestamptz,
  -- The new key is inserted after its predecessor is revoked, in the same transaction.
  replaced_by      text REFERENCES license_keys(key_id) DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX license_keys_tenant ON license_keys (tenant_id);
-- A tenant's key is bound to one server: at most one active key per tenant.
CREATE UNIQUE INDEX license_keys_one_active ON license_keys (tenant_id) WHERE revoked_at IS NULL;

-- No foreign key to tenants: a usage flush must not fail because of one odd tenant id.
CREATE TABLE tenant_usage_daily (
  tenant_id           text NOT NULL,
  day                 date NOT NULL,
  bytes_relayed       bigint NOT NULL CHECK (bytes_relayed >= 0),
  allocation_seconds  bigint NOT NULL CHECK (allocation_seconds >= 0),
  PRIMARY KEY (tenant_id, day)
);
CREATE INDEX tenant_usage_daily_day ON tenant_usage_daily (day);
`;
