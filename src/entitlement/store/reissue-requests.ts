// Reissue requests received through the vendor's form (issue 21, seed 2(2)): the queue support
// staff work from, so that the terms' delivery promise (same business day when received by 17:00
// JST, else the next one) is tracked from a request's arrival to its key being sent. Both stores
// keep the queue next to the keys, because fulfilling a request is a reissue and must commit with it.
import { jstDateOf } from '../rules/jst-date.js';
import type { JstDate } from '../types.js';
import type { AuditContext } from './audit.js';
import type { NewKey, ReissueKeyResult } from './store.js';

/** What the store keeps: `overdue` is not stored, it is `pending` seen after the due date. */
export type StoredRequestState = 'pending' | 'fulfilled' | 'cancelled';

/** One request as stored. */
export interface ReissueRequestRecord {
  /** `rr_` and 20 base32 characters. */
  id: string;
  tenant: string;
  /** The server identity the new key is to be bound to. */
  server: string;
  /** The form's own id, unique per tenant (a resubmitted form is not queued twice), or null. */
  reference: string | null;
  receivedAt: Date;
  /** The JST date by which the key must be sent (reissueDue of receivedAt). */
  dueDate: JstDate;
  state: StoredRequestState;
  fulfilledAt: Date | null;
  /** Whether the key was sent by the end of dueDate (JST); null unless fulfilled. */
  onTime: boolean | null;
  /** The key sent; null unless fulfilled. */
  keyId: string | null;
  cancelledAt: Date | null;
  cancelReason: string | null;
}

/** A request to queue; the caller computed its due date. */
export type NewReissueRequest = Pick<
  ReissueRequestRecord,
  'id' | 'tenant' | 'server' | 'reference' | 'receivedAt' | 'dueDate'
>;

/** Which requests to list. */
export interface ReissueRequestQuery {
  tenant?: string;
  /** Stored states to include; all when omitted. */
  states?: readonly StoredRequestState[];
}

/** The outcome of `addRequest`: `created` false when the reference was queued before (same server). */
export interface AddRequestResult {
  request: ReissueRequestRecord;
  created: boolean;
}

/**
 * The outcome of `fulfilRequest`: `reissue` is the new key and what it revoked when this call
 * fulfilled the request, null when it was fulfilled before (the key is never handed out twice).
 */
export interface FulfilRequestResult {
  request: ReissueRequestRecord;
  reissue: ReissueKeyResult | null;
}

/** Open requests by state at one JST date (the gauges). */
export interface OpenRequestCounts {
  /** Pending and due on or after `today`. */
  pending: number;
  /** Pending and due before `today`. */
  overdue: number;
}

/** The queue's persistence; implemented over the PostgreSQL and the file store. */
export interface ReissueRequestStore {
  /**
   * Queues a request, in one write with its audit record. `unknown_tenant` for a tenant never
   * imported; with a reference already queued for the tenant: the stored request (created false)
   * when the server is the same, else `reissue_request_conflict` and nothing is written.
   */
  addRequest(request: NewReissueRequest, audit?: AuditContext): Promise<AddRequestResult>;

  /** Requests ordered by due date, then receipt, then id. */
  listRequests(query?: ReissueRequestQuery): Promise<ReissueRequestRecord[]>;

  /** The request, or null. */
  getRequest(id: string): Promise<ReissueRequestRecord | null>;

  /**
   * Fulfils a pending request: reissues the tenant's key for the requested server (revoking
   * whichever key is active) and marks the request fulfilled at `key.issuedAt`, in one
   * transaction under the request's lock, so concurrent calls make one key. Fulfilled before:
   * the stored request and no key. `unknown_reissue_request`; `reissue_request_closed` when cancelled.
   */
  fulfilRequest(id: string, key: NewKey, audit?: AuditContext): Promise<FulfilRequestResult>;

  /**
   * Cancels a pending request with a reason; cancelled before: unchanged. `unknown_reissue_request`;
   * `reissue_request_closed` when it was fulfilled.
   */
  cancelRequest(id: string, reason: string, at: Date, audit?: AuditContext): Promise<ReissueRequestRecord>;

  /** Pending and overdue counts at the JST date `today`. */
  countOpen(today: JstDate): Promise<OpenRequestCounts>;
}

/** Whether a fulfilment at `at` kept the promise: by the end of the due date in JST. */
export function fulfilledOnTime(at: Date, dueDate: JstDate): boolean {
  return jstDateOf(at) <= dueDate;
}

/** Orders requests by due date, receipt, id (the list order of both stores). */
export function byDueDate(a: ReissueRequestRecord, b: ReissueRequestRecord): number {
  if (a.dueDate !== b.dueDate) return a.dueDate < b.dueDate ? -1 : 1;
  const d = a.receivedAt.getTime() - b.receivedAt.getTime();
  if (d !== 0) return d;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
