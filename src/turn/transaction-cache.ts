/** What the cache knows about one request. */
export type CachedTransaction = Buffer | typeof PENDING;

/** Marker: the request is being processed (an async hook is running); drop retransmissions. */
export const PENDING: unique symbol = Symbol('pending');

interface Entry {
  response: CachedTransaction;
  expiresAt: number;
}

/**
 * Responses to authenticated requests, by 5-tuple and transaction id, so a retransmitted request
 * gets the same bytes and changes nothing (RFC 8489 section 6.3.1; RFC 8656 sections 7.2, 8.2,
 * 10.2, 12.2 rely on it for the non-idempotent methods). Unauthenticated requests are never
 * cached: they cost no memory (RFC 8656 section 5). One global map in insertion order: every
 * entry lives equally long, so the oldest entries are at the front and expiry and eviction pop
 * from there, with no timer per request.
 */
export class TransactionCache {
  readonly #entries = new Map<string, Entry>();

  constructor(
    readonly capacity: number,
    /** Milliseconds. */
    readonly lifetimeMs: number,
  ) {}

  /** The map key of a request. */
  static keyOf(tupleKey: string, transactionId: Buffer): string {
    return `${tupleKey}#${transactionId.toString('hex')}`;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The cached response or PENDING, if the request was seen within the lifetime. */
  lookup(key: string, now: number): CachedTransaction | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= now) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.response;
  }

  /** Marks a request as in progress. */
  markPending(key: string, now: number): void {
    this.#set(key, PENDING, now);
  }

  /** Stores the final response of a request. */
  store(key: string, response: Buffer, now: number): void {
    this.#set(key, response, now);
  }

  /** Removes entries past their lifetime. */
  sweep(now: number): void {
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt > now) break;
      this.#entries.delete(key);
    }
  }

  #set(key: string, response: CachedTransaction, now: number): void {
    const existing = this.#entries.get(key);
    if (existing !== undefined) {
      // Keep its place in the order: a pending request completes well within the lifetime.
      existing.response = response;
      return;
    }
    if (this.#entries.size >= this.capacity) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
    this.#entries.set(key, { response, expiresAt: now + this.lifetimeMs });
  }
}
