// Migration 2: a self-service reissue stores the hash of its request (tenant and Idempotency-Key)
// with the new key, in the transaction that creates it, so a client whose answer was lost (the
// COMMIT reply cut off) can retry and be given the key that was committed. Nullable: keys issued
// before, by the admin API or the CLI have none. Adding a nullable column without a default
// rewrites nothing, so existing databases upgrade at once.

/** The request-hash column of license keys. */
export const reissueRequestHash = `
ALTER TABLE license_keys ADD COLUMN request_hash text
  CHECK (request_hash IS NULL OR request_hash ~ '^[0-9a-f]{64}$');
`;
