// A key just issued: the only moment its full text is shown. The text is revealed by an
// explicit call, so logging the result object by accident shows no secret.
import { REDACTED, type StoredKey } from '../entitlement/store/index.js';
import { inspect } from '../node-builtins.js';
import { formatLicenseKey } from './key-format.js';

/** A newly issued license key; `reveal()` gives the `<keyId>.<secret>` text for the customer. */
export class IssuedKey {
  readonly keyId: string;
  readonly record: StoredKey;

  constructor(record: StoredKey) {
    this.keyId = record.keyId;
    this.record = record;
  }

  /** The license key text, `<keyId>.<secret>`: print it once, to the customer, never to a log. */
  reveal(): string {
    return formatLicenseKey(this.record.keyId, this.record.secret);
  }

  toJSON(): { keyId: string; key: string; tenant: string; serverIdentity: string; issuedAt: string } {
    const pub = this.record.toPublic();
    return {
      keyId: this.keyId,
      key: REDACTED,
      tenant: pub.tenant,
      serverIdentity: pub.serverIdentity,
      issuedAt: pub.issuedAt,
    };
  }

  [inspect.custom](): string {
    return `IssuedKey ${inspect(this.toJSON())}`;
  }
}
