// Durable records of events that change nothing and that the holder of a revoked key can repeat
// at will: requests refused `license_revoked`, and replays of a self-service reissue. Writing one
// record per request would let such a caller fill the disk (the file store rewrites its whole
// document per write), so they are aggregated per (action, key) and time window:
//
// - the first event of a key in a window is written at once (an operator sees a stolen key being
//   tried within a second), with the client address and route;
// - further events in that window are counted in memory and written as one summary record when
//   the window ends (count, first and last instant, up to 10 client addresses and the routes);
// - at most `maxKeys` keys are tracked; events of further keys go into one overflow summary.
//
// So a window costs at most two records per key plus one overflow record, however many requests
// arrive, and only keys that exist and were revoked can be named (the signature is checked
// first). Counts still in memory when the process dies are lost; `close()` flushes them.
import type { AuditDetails, EntitlementStore, NewAuditRecord } from '../entitlement/store/index.js';

/** One event to record. */
export interface NoisyEvent {
  action: 'revoked_key_refused' | 'reissue_replayed';
  tenant: string;
  keyId: string;
  client: string | null;
  /** The route, e.g. `POST /v1/ice-servers`. */
  route: string;
  /** Facts of the first event of a window (the replayed key's id). */
  details?: AuditDetails;
}

/** Options of the aggregator. */
export interface NoisyAuditOptions {
  store: Pick<EntitlementStore, 'recordAudit'>;
  /** The aggregation window; default 15 minutes. */
  windowMs?: number;
  /** Most keys tracked at once; default 1000. */
  maxKeys?: number;
  /** Milliseconds since the epoch; default Date.now. */
  clock?: () => number;
  /** A record that could not be written (the store is down); default: ignored. */
  onError?: (err: unknown) => void;
}

/** Default aggregation window: at most 2 records per key per 15 minutes (192 a day). */
export const NOISY_AUDIT_WINDOW_MS = 15 * 60 * 1000;
const MAX_CLIENTS = 10;
const OVERFLOW = '\u0000overflow';

interface Window {
  action: NoisyEvent['action'];
  tenant: string | null;
  keyId: string | null;
  startedAt: number;
  /** Events after the first, not yet written. */
  count: number;
  firstAt: number;
  lastAt: number;
  clients: Set<string>;
  routes: Set<string>;
}

/** The aggregator: see the file comment. */
export class NoisyAudit {
  readonly #store: Pick<EntitlementStore, 'recordAudit'>;
  readonly #windowMs: number;
  readonly #maxKeys: number;
  readonly #clock: () => number;
  readonly #onError: (err: unknown) => void;
  readonly #windows = new Map<string, Window>();
  readonly #pending = new Set<Promise<void>>();
  /** The last write: each write waits for the one before, so records are stored in event order. */
  #chain: Promise<void> = Promise.resolve();
  readonly #timer: NodeJS.Timeout;

  constructor(options: NoisyAuditOptions) {
    this.#store = options.store;
    this.#windowMs = options.windowMs ?? NOISY_AUDIT_WINDOW_MS;
    this.#maxKeys = options.maxKeys ?? 1000;
    this.#clock = options.clock ?? Date.now;
    this.#onError = options.onError ?? (() => undefined);
    this.#timer = setInterval(() => this.#flush(false), Math.min(this.#windowMs, 60_000));
    this.#timer.unref();
  }

  /** Records `event`: written now if it opens a window, else counted into the window's summary. */
  note(event: NoisyEvent): void {
    const now = this.#clock();
    this.#flush(false);
    const id = `${event.action}\n${event.keyId}`;
    const open = this.#windows.get(id);
    if (open !== undefined) {
      this.#count(open, event, now);
      return;
    }
    if (this.#windows.size >= this.#maxKeys) {
      const overflowId = `${event.action}\n${OVERFLOW}`;
      let overflow = this.#windows.get(overflowId);
      if (overflow === undefined) {
        overflow = this.#window(event, now, null, null);
        this.#windows.set(overflowId, overflow);
      }
      this.#count(overflow, event, now);
      return;
    }
    this.#windows.set(id, this.#window(event, now, event.tenant, event.keyId));
    this.#write({
      at: new Date(now),
      tenant: event.tenant,
      action: event.action,
      outcome: event.action === 'revoked_key_refused' ? 'refused' : 'ok',
      actor: `key:${event.keyId}`,
      client: event.client,
      keyId: event.keyId,
      details: { ...event.details, route: event.route, count: 1 },
    });
  }

  /** Resolves once every record handed to the store so far has been written (or failed). */
  async idle(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all([...this.#pending]);
  }

  /** Writes every open window's summary now, as at shutdown; resolves once written. */
  async flush(): Promise<void> {
    this.#flush(true);
    await this.idle();
  }

  /** Stops the timer and flushes. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
  }

  #window(event: NoisyEvent, now: number, tenant: string | null, keyId: string | null): Window {
    return {
      action: event.action,
      tenant,
      keyId,
      startedAt: now,
      count: 0,
      firstAt: now,
      lastAt: now,
      clients: new Set(),
      routes: new Set(),
    };
  }

  #count(w: Window, event: NoisyEvent, now: number): void {
    if (w.count === 0) w.firstAt = now;
    w.count += 1;
    w.lastAt = now;
    if (event.client !== null && w.clients.size < MAX_CLIENTS) w.clients.add(event.client);
    w.routes.add(event.route);
  }

  #flush(all: boolean): void {
    const now = this.#clock();
    for (const [id, w] of this.#windows) {
      if (!all && now - w.startedAt < this.#windowMs) continue;
      this.#windows.delete(id);
      if (w.count === 0) continue;
      this.#write({
        at: new Date(w.lastAt),
        tenant: w.tenant,
        action: w.action,
        outcome: w.action === 'revoked_key_refused' ? 'refused' : 'ok',
        actor: w.keyId === null ? 'keys:overflow' : `key:${w.keyId}`,
        client: null,
        keyId: w.keyId,
        details: {
          summary: true,
          count: w.count,
          firstAt: new Date(w.firstAt).toISOString(),
          lastAt: new Date(w.lastAt).toISOString(),
          clients: [...w.clients],
          routes: [...w.routes],
        },
      });
    }
  }

  #write(record: NewAuditRecord): void {
    // One at a time: two writes in flight could reach the store in either order (a replay and the
    // refusal after it swapped their sequence numbers once). Aggregation keeps this chain short.
    const p = this.#chain.then(() => this.#store.recordAudit([record])).catch(this.#onError);
    this.#chain = p;
    this.#pending.add(p);
    void p.finally(() => this.#pending.delete(p));
  }
}
