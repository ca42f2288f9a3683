// What every TURN test client repeats, in one place: building a request and long-term
// authentication (RFC 8489 section 9.2: the first request is refused 401 with REALM and NONCE;
// requests are then signed with USERNAME, REALM, NONCE and MESSAGE-INTEGRITY; 438 brings a new
// NONCE). test/helpers/turn-client.ts sends what this builds over UDP, TCP or TLS.
import {
  Attr,
  getAttribute,
  longTermKey,
  MessageBuilder,
  newTransactionId,
  readText,
  StunClass,
  type StunMessage,
} from '../../src/stun/index.js';

/** Adds attributes to a request. */
export type AttributeWriter = (builder: MessageBuilder) => void;

/** A request ready to send: its bytes and transaction id. */
export interface BuiltRequest {
  bytes: Buffer;
  tid: Buffer;
}

/** The long-term credential state of one client. */
export class LongTermAuth {
  #realm = '';
  #nonce = '';
  #key: Buffer | null = null;

  constructor(
    readonly username: string,
    readonly password: string,
  ) {}

  /** What signs requests, once a 401 taught REALM and NONCE; null before. */
  get signer(): { username: string; realm: string; nonce: string; key: Buffer } | null {
    if (this.#key === null) return null;
    return { username: this.username, realm: this.#realm, nonce: this.#nonce, key: this.#key };
  }

  /** A request of `method` with `write`'s attributes, signed when asked and credentials are known. */
  build(
    method: number,
    write: AttributeWriter,
    options: { sign?: boolean; fingerprint?: boolean } = {},
  ): BuiltRequest {
    const tid = newTransactionId();
    const builder = new MessageBuilder(StunClass.Request, method, tid);
    write(builder);
    const signing = options.sign === true && this.#key !== null;
    if (signing) {
      builder
        .addText(Attr.USERNAME, this.username)
        .addText(Attr.REALM, this.#realm)
        .addText(Attr.NONCE, this.#nonce);
    }
    const bytes = builder.build({
      ...(signing ? { integrityKey: this.#key! } : {}),
      fingerprint: options.fingerprint ?? true,
    });
    return { bytes, tid };
  }

  /**
   * Runs `attempt` (a signed request); a 401 or 438 answer teaches REALM and NONCE and the
   * request is made once more, signed with them.
   */
  async withChallenge<R extends { code: number; message: StunMessage | null }>(
    attempt: () => Promise<R>,
  ): Promise<R> {
    const first = await attempt();
    if ((first.code !== 401 && first.code !== 438) || first.message === null) return first;
    this.learn(first.message);
    return attempt();
  }

  /** Takes REALM and NONCE from a challenge and derives the key (RFC 8489 section 9.2.2). */
  learn(message: StunMessage): void {
    const realm = getAttribute(message, Attr.REALM);
    const nonce = getAttribute(message, Attr.NONCE);
    if (realm) this.#realm = readText(realm.value) ?? '';
    if (nonce) this.#nonce = readText(nonce.value) ?? '';
    this.#key = longTermKey(this.username, this.#realm, this.password);
  }
}
