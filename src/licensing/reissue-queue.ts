// The queue of license-key reissues requested through the vendor's form (issue 21; seed 2(2):
// sent the same business day when received by 17:00 JST, else the next business day). It stamps
// each request with the due date the terms promise (the rules of `icegate reissue-due`), refuses
// requests while support is not active or in grace, as any reissue, and fulfils a request with a
// reissue in the store transaction that closes it. The HTTP routes and the CLI both drive it.
import { randomBytes } from 'node:crypto';
import { type ClosingDaySpec, reissueDue } from '../entitlement/rules/index.js';
import { jstDateOf } from '../entitlement/rules/jst-date.js';
import {
  type AddRequestResult,
  type AuditContext,
  isStoreError,
  type ReissueKeyResult,
  type ReissueRequestRecord,
  type ReissueRequestStore,
  type StoredRequestState,
} from '../entitlement/store/index.js';
import { LicenseError } from './errors.js';
import { IssuedKey } from './issued-key.js';
import { newKeyId, newKeySecret } from './key-format.js';
import type { LicenseService } from './license-service.js';
import { checkServerIdentity } from './server-identity.js';

/** A request's state as shown: `overdue` is a pending request after the end of its due date (JST). */
export type ReissueRequestState = 'pending' | 'overdue' | 'fulfilled' | 'cancelled';

/** The list filters: `done` is fulfilled and cancelled requests together. */
export type ReissueRequestFilter = 'pending' | 'overdue' | 'done';

/** A request as the API and the CLI show it. */
export interface ReissueRequestView {
  id: string;
  tenant: string;
  server: string;
  reference: string | null;
  receivedAt: string;
  dueDate: string;
  state: ReissueRequestState;
  fulfilledAt: string | null;
  onTime: boolean | null;
  keyId: string | null;
  cancelledAt: string | null;
  cancelReason: string | null;
}

/** The outcome of `fulfil`: `issued` only for the call that made the key. */
export interface FulfilOutcome {
  request: ReissueRequestView;
  issued: IssuedKey | null;
  reissue: ReissueKeyResult | null;
}

/** The form's reference: 1-128 visible ASCII characters. */
const REFERENCE = /^[\x21-\x7e]{1,128}$/;
/** A cancel reason: 1-500 characters, no control characters. */
const REASON = /^[^\p{Cc}]{1,500}$/u;
const REQUEST_ID = /^rr_[a-z2-7]{20}$/;
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';
const KEY_ID_ATTEMPTS = 3;

/** A fresh request id, `rr_` and 20 base32 characters (100 random bits). */
export function newRequestId(): string {
  let id = 'rr_';
  for (const b of randomBytes(20)) id += BASE32[b & 31];
  return id;
}

/** True for text shaped like a request id. */
export function isRequestId(text: string): boolean {
  return REQUEST_ID.test(text);
}

/** The shown state of a stored request on the JST date `today`. */
export function shownState(r: ReissueRequestRecord, today: string): ReissueRequestState {
  return r.state === 'pending' && r.dueDate < today ? 'overdue' : r.state;
}

/** The view of a stored request at `now`. */
export function requestView(r: ReissueRequestRecord, now: Date): ReissueRequestView {
  return {
    id: r.id,
    tenant: r.tenant,
    server: r.server,
    reference: r.reference,
    receivedAt: r.receivedAt.toISOString(),
    dueDate: r.dueDate,
    state: shownState(r, jstDateOf(now)),
    fulfilledAt: r.fulfilledAt?.toISOString() ?? null,
    onTime: r.onTime,
    keyId: r.keyId,
    cancelledAt: r.cancelledAt?.toISOString() ?? null,
    cancelReason: r.cancelReason,
  };
}

/** Options of the queue. */
export interface ReissueQueueOptions {
  /** Company closing days (SUPPORT_CLOSING_DAYS); the rules' default when omitted. */
  closingDays?: readonly ClosingDaySpec[];
}

/** What a new request carries. */
export interface NewRequestInput {
  tenant: string;
  server: string;
  /** Default: now. */
  receivedAt?: Date;
  reference?: string;
}

/** The reissue-request queue over a store and the license service's support check. */
export class ReissueQueue {
  readonly #store: ReissueRequestStore;
  readonly #licenses: Pick<LicenseService, 'requireReissueAllowed'>;
  readonly #closingDays: readonly ClosingDaySpec[] | undefined;

  constructor(
    store: ReissueRequestStore,
    licenses: Pick<LicenseService, 'requireReissueAllowed'>,
    options: ReissueQueueOptions = {},
  ) {
    this.#store = store;
    this.#licenses = licenses;
    this.#closingDays = options.closingDays;
  }

  /** The JST date a request received at `at` is due (`icegate reissue-due --at`). */
  dueDate(at: Date): string {
    return reissueDue(at, this.#closingDays === undefined ? {} : { closingDays: this.#closingDays });
  }

  /**
   * Queues a request received at `input.receivedAt` (default `now`). Support is checked at `now`,
   * when the request is entered: `support_inactive`, `unknown_tenant`; a reference queued before:
   * that request (created false), or `reissue_request_conflict` when its server differs.
   */
  async add(
    input: NewRequestInput,
    now: Date,
    audit?: AuditContext,
  ): Promise<{ request: ReissueRequestView; created: boolean }> {
    const server = checkServerIdentity(input.server);
    const reference = input.reference ?? null;
    if (reference !== null && !REFERENCE.test(reference)) {
      throw new LicenseError('invalid_request', 'reference: 1-128 visible ASCII characters');
    }
    const receivedAt = input.receivedAt ?? now;
    if (Number.isNaN(receivedAt.getTime()))
      throw new LicenseError('invalid_request', 'receivedAt: not an instant');
    if (receivedAt.getTime() > now.getTime()) {
      throw new LicenseError('invalid_request', 'receivedAt: a request cannot be received in the future');
    }
    await this.#licenses.requireReissueAllowed(input.tenant, now);
    const result: AddRequestResult = await this.#store.addRequest(
      {
        id: newRequestId(),
        tenant: input.tenant,
        server,
        reference,
        receivedAt,
        dueDate: this.dueDate(receivedAt),
      },
      audit,
    );
    return { request: requestView(result.request, now), created: result.created };
  }

  /** Requests in `filter` (all when omitted), optionally of one tenant, by due date. */
  async list(
    filter: ReissueRequestFilter | undefined,
    tenant: string | undefined,
    now: Date,
  ): Promise<ReissueRequestView[]> {
    const states: StoredRequestState[] | undefined =
      filter === undefined ? undefined : filter === 'done' ? ['fulfilled', 'cancelled'] : ['pending'];
    const rows = await this.#store.listRequests({
      ...(tenant === undefined ? {} : { tenant }),
      ...(states === undefined ? {} : { states }),
    });
    const views = rows.map((r) => requestView(r, now));
    return filter === 'pending' || filter === 'overdue' ? views.filter((v) => v.state === filter) : views;
  }

  /** The request at `now`, or null. */
  async get(id: string, now: Date): Promise<ReissueRequestView | null> {
    const r = await this.#store.getRequest(id);
    return r === null ? null : requestView(r, now);
  }

  /**
   * Fulfils the request at `now`: a reissue for its server (the tenant's active key revoked) in
   * the transaction that closes it. A repeat answers the fulfilled request and no key.
   */
  async fulfil(id: string, now: Date, audit?: AuditContext): Promise<FulfilOutcome> {
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await this.#store.fulfilRequest(
          id,
          { keyId: newKeyId(), secret: newKeySecret(), serverIdentity: '', issuedAt: now },
          audit,
        );
        return {
          request: requestView(result.request, now),
          issued: result.reissue === null ? null : new IssuedKey(result.reissue.key),
          reissue: result.reissue,
        };
      } catch (err) {
        if (!isStoreError(err, 'key_conflict') || attempt >= KEY_ID_ATTEMPTS) throw err;
      }
    }
  }

  /** Cancels the request with `reason`; a repeat answers the cancelled request. */
  async cancel(id: string, reason: string, now: Date, audit?: AuditContext): Promise<ReissueRequestView> {
    if (typeof reason !== 'string' || !REASON.test(reason.trim())) {
      throw new LicenseError('invalid_request', 'reason: 1-500 characters without control characters');
    }
    return requestView(await this.#store.cancelRequest(id, reason.trim(), now, audit), now);
  }

  /** Open requests at `now`: pending (not yet due past) and overdue. */
  async counts(now: Date): Promise<{ pending: number; overdue: number }> {
    return this.#store.countOpen(jstDateOf(now));
  }
}
