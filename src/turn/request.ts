import type { RestUsername } from '../auth/index.js';
import {
  Attr,
  encodeText,
  getAttribute,
  MessageBuilder,
  StunClass,
  type StunMessage,
} from '../stun/index.js';
import type { FiveTuple } from './five-tuple.js';

/** The identity a request proved with the long-term credential mechanism (RFC 8489 section 9.2). */
export interface Credentials {
  username: string;
  rest: RestUsername;
  /** The key that verified MESSAGE-INTEGRITY; responses are signed with it (RFC 8489 section 9.2.4). */
  key: Buffer;
}

/** One STUN request being answered. */
export class TurnRequest {
  /** Set once authenticated; from then on responses are signed and cached. */
  credentials: Credentials | null = null;
  /**
   * Set once the NONCE checked out: the client received what we sent to its address. Until then
   * answers are budgeted per source (UnauthenticatedBudget) and not cached.
   */
  addressProven = false;
  /** Whether the request carried FINGERPRINT: the response mirrors it (see finishResponse()). */
  readonly fingerprint: boolean;

  constructor(
    readonly tuple: FiveTuple,
    readonly message: StunMessage,
    /** TransactionCache key. */
    readonly cacheKey: string,
  ) {
    const last = message.attributes[message.attributes.length - 1];
    this.fingerprint = last !== undefined && last.type === Attr.FINGERPRINT;
  }

  /** Transaction id as hex text. */
  get transactionHex(): string {
    return this.message.transactionId.toString('hex');
  }

  attribute(type: number): Buffer | undefined {
    return getAttribute(this.message, type)?.value;
  }

  has(type: number): boolean {
    return getAttribute(this.message, type) !== undefined;
  }
}

/** Starts a response to `request`; the caller adds its attributes, then calls finishResponse(). */
export function responseBuilder(request: TurnRequest, success: boolean): MessageBuilder {
  const cls = success ? StunClass.SuccessResponse : StunClass.ErrorResponse;
  return new MessageBuilder(cls, request.message.method, request.message.transactionId);
}

/**
 * Finishes a response: SOFTWARE when given (RFC 8656 section 5: SHOULD on Allocate and Refresh
 * responses, MAY elsewhere; the context leaves it off unauthenticated errors), MESSAGE-INTEGRITY under the request's key when the request
 * was authenticated (RFC 8489 section 9.2.4; error responses too, which clients such as werift
 * insist on), and FINGERPRINT when the request had one. RFC 8656 section 5 lets either side add
 * FINGERPRINT to any message; mirroring the request answers multiplexing clients (ICE agents
 * always send it, RFC 8445 section 7.2.2) in kind and spends nothing on the others.
 */
export function finishResponse(
  builder: MessageBuilder,
  request: TurnRequest,
  software: string | undefined,
): Buffer {
  if (software !== undefined) builder.add(Attr.SOFTWARE, softwareValue(software));
  const key = request.credentials?.key;
  return builder.build(
    key === undefined
      ? { fingerprint: request.fingerprint }
      : { integrityKey: key, fingerprint: request.fingerprint },
  );
}

// The server's SOFTWARE text is one constant: encoded (and checked against the attribute's limits)
// once, not for every response. The builder copies values at build() and never changes them.
let lastSoftware: string | undefined;
let lastSoftwareValue: Buffer | undefined;

function softwareValue(software: string): Buffer {
  if (software !== lastSoftware || lastSoftwareValue === undefined) {
    lastSoftwareValue = encodeText(software, Attr.SOFTWARE);
    lastSoftware = software;
  }
  return lastSoftwareValue;
}
