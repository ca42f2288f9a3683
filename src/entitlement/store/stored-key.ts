// A license key as the store keeps it. The secret is needed to verify tenant JWTs, so it is
// stored, but it must never reach a log line: JSON and util.inspect show it redacted.
import { inspect } from '../../node-builtins.js';

/** The fields of a stored license key, secret included (DOMAIN.md "License keys"). */
export interface StoredKeyFields {
  keyId: string;
  tenant: string;
  serverIdentity: string;
  secret: string;
  issuedAt: Date;
  revokedAt: Date | null;
  replacedBy: string | null;
  /**
   * SHA-256 hex of the self-service reissue request that created this key (its tenant and
   * Idempotency-Key), so a retry of that request can be answered with this key; null for keys
   * issued otherwise. Absent in records written before it existed.
   */
  requestHash?: string | null;
  /**
   * The key a compare-and-set reissue replaced (its signing key), so revoking that key can revoke
   * this one too; null otherwise. Kept by the stores, not shown. Absent in older records.
   */
  replaces?: string | null;
}

/** The secret's stand-in wherever a key is serialised or inspected. */
export const REDACTED = '[redacted]';

/** A stored license key; `secret` is readable but redacted from JSON.stringify and util.inspect. */
export class StoredKey {
  readonly keyId: string;
  readonly tenant: string;
  readonly serverIdentity: string;
  readonly issuedAt: Date;
  readonly revokedAt: Date | null;
  readonly replacedBy: string | null;
  /** See StoredKeyFields.requestHash; not secret, but not shown by `toPublic` either. */
  readonly requestHash: string | null;
  readonly #secret: string;

  constructor(fields: StoredKeyFields) {
    this.keyId = fields.keyId;
    this.tenant = fields.tenant;
    this.serverIdentity = fields.serverIdentity;
    this.issuedAt = fields.issuedAt;
    this.revokedAt = fields.revokedAt;
    this.replacedBy = fields.replacedBy;
    this.requestHash = fields.requestHash ?? null;
    this.#secret = fields.secret;
  }

  /** The HS256 secret of tenant JWTs signed with this key. */
  get secret(): string {
    return this.#secret;
  }

  /** True once the key has been revoked (by reissue or revoke). */
  get revoked(): boolean {
    return this.revokedAt !== null;
  }

  /** The key without its secret: what `tenant show` and the admin API print. */
  toPublic(): PublicKeyView {
    return {
      keyId: this.keyId,
      tenant: this.tenant,
      serverIdentity: this.serverIdentity,
      issuedAt: this.issuedAt.toISOString(),
      revokedAt: this.revokedAt === null ? null : this.revokedAt.toISOString(),
      replacedBy: this.replacedBy,
    };
  }

  toJSON(): PublicKeyView & { secret: string } {
    return { ...this.toPublic(), secret: REDACTED };
  }

  [inspect.custom](): string {
    return `StoredKey ${inspect(this.toJSON())}`;
  }
}

/** A license key as shown to people and programs: no secret, ISO instants. */
export interface PublicKeyView {
  keyId: string;
  tenant: string;
  serverIdentity: string;
  issuedAt: string;
  revokedAt: string | null;
  replacedBy: string | null;
}
