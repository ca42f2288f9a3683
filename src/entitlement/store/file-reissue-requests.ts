// The reissue-request queue of the embedded file store: each step is one durable write of the
// document (FileStore.write), under its in-process queue and cross-process lock, so a fulfilment
// and its reissue are written together and two concurrent fulfilments see each other.
import type { AuditContext } from './audit.js';
import { StoreError } from './errors.js';
import type { FileState } from './file-document.js';
import { copyState, type PlannedWrite, planReissue, requireTenant } from './file-key-writes.js';
import type { FileStore } from './file-store.js';
import {
  requestCancelledRecord,
  requestFulfilledRecord,
  requestReceivedRecord,
} from './reissue-request-audit.js';
import {
  type AddRequestResult,
  byDueDate,
  type FulfilRequestResult,
  fulfilledOnTime,
  type NewReissueRequest,
  type OpenRequestCounts,
  type ReissueRequestQuery,
  type ReissueRequestRecord,
  type ReissueRequestStore,
} from './reissue-requests.js';
import type { NewKey } from './store.js';

function requireRequest(state: FileState, id: string): ReissueRequestRecord {
  const r = state.reissueRequests.get(id);
  if (r === undefined) throw new StoreError('unknown_reissue_request', `no reissue request has id ${id}`);
  return r;
}

/** Queues a request unless its reference is queued already (see ReissueRequestStore.addRequest). */
export function planAddRequest(
  state: FileState,
  request: NewReissueRequest,
  who?: AuditContext,
): PlannedWrite<AddRequestResult> {
  requireTenant(state, request.tenant);
  if (request.reference !== null) {
    for (const r of state.reissueRequests.values()) {
      if (r.tenant !== request.tenant || r.reference !== request.reference) continue;
      if (r.server !== request.server) throw referenceConflict(r);
      return {
        next: null,
        result: { request: { ...r }, created: false },
        audit: [requestReceivedRecord(who, request.receivedAt, r, false)],
      };
    }
  }
  const stored: ReissueRequestRecord = {
    ...request,
    state: 'pending',
    fulfilledAt: null,
    onTime: null,
    keyId: null,
    cancelledAt: null,
    cancelReason: null,
  };
  const next = copyState(state);
  next.reissueRequests.set(stored.id, stored);
  return {
    next,
    result: { request: { ...stored }, created: true },
    audit: [requestReceivedRecord(who, request.receivedAt, stored, true)],
  };
}

/** The refusal of a resubmitted form naming another server. */
export function referenceConflict(existing: ReissueRequestRecord): StoreError {
  return new StoreError(
    'reissue_request_conflict',
    `server: reference ${existing.reference} of tenant ${existing.tenant} was queued as request ` +
      `${existing.id} for server ${existing.server}; cancel it to queue another server`,
  );
}

/** Fulfils a pending request with a reissue in the same write. */
export function planFulfilRequest(
  state: FileState,
  id: string,
  key: NewKey,
  who?: AuditContext,
): PlannedWrite<FulfilRequestResult> {
  const request = requireRequest(state, id);
  if (request.state === 'cancelled') throw closed(request);
  if (request.state === 'fulfilled') {
    return {
      next: null,
      result: { request: { ...request }, reissue: null },
      audit: [requestFulfilledRecord(who, key.issuedAt, request, false)],
    };
  }
  const reissue = planReissue(
    state,
    request.tenant,
    { ...key, serverIdentity: request.server },
    {
      ...(who === undefined ? {} : { audit: who }),
    },
  );
  const next = reissue.next ?? copyState(state);
  const done: ReissueRequestRecord = {
    ...request,
    state: 'fulfilled',
    fulfilledAt: key.issuedAt,
    onTime: fulfilledOnTime(key.issuedAt, request.dueDate),
    keyId: key.keyId,
  };
  next.reissueRequests.set(id, done);
  return {
    next,
    result: { request: { ...done }, reissue: reissue.result },
    audit: [...(reissue.audit ?? []), requestFulfilledRecord(who, key.issuedAt, done, true)],
  };
}

/** Cancels a pending request. */
export function planCancelRequest(
  state: FileState,
  id: string,
  reason: string,
  at: Date,
  who?: AuditContext,
): PlannedWrite<ReissueRequestRecord> {
  const request = requireRequest(state, id);
  if (request.state === 'fulfilled') throw closed(request);
  if (request.state === 'cancelled') {
    return {
      next: null,
      result: { ...request },
      audit: [requestCancelledRecord(who, at, request, false)],
    };
  }
  const done: ReissueRequestRecord = {
    ...request,
    state: 'cancelled',
    cancelledAt: at,
    cancelReason: reason,
  };
  const next = copyState(state);
  next.reissueRequests.set(id, done);
  return { next, result: { ...done }, audit: [requestCancelledRecord(who, at, done, true)] };
}

/** The refusal to fulfil a cancelled request or cancel a fulfilled one. */
export function closed(request: ReissueRequestRecord): StoreError {
  return new StoreError(
    'reissue_request_closed',
    `reissue request ${request.id} is ${request.state}; it can no longer be ${
      request.state === 'cancelled' ? 'fulfilled' : 'cancelled'
    }`,
  );
}

/** The queue over a FileStore. */
export class FileReissueRequests implements ReissueRequestStore {
  readonly #store: FileStore;

  constructor(store: FileStore) {
    this.#store = store;
  }

  addRequest(request: NewReissueRequest, audit?: AuditContext): Promise<AddRequestResult> {
    return this.#store.write((state) => planAddRequest(state, request, audit));
  }

  async listRequests(query: ReissueRequestQuery = {}): Promise<ReissueRequestRecord[]> {
    const all = await this.#all();
    return all
      .filter((r) => query.tenant === undefined || r.tenant === query.tenant)
      .filter((r) => query.states === undefined || query.states.includes(r.state))
      .sort(byDueDate);
  }

  async getRequest(id: string): Promise<ReissueRequestRecord | null> {
    return (await this.#all()).find((r) => r.id === id) ?? null;
  }

  fulfilRequest(id: string, key: NewKey, audit?: AuditContext): Promise<FulfilRequestResult> {
    return this.#store.write((state) => planFulfilRequest(state, id, key, audit));
  }

  cancelRequest(id: string, reason: string, at: Date, audit?: AuditContext): Promise<ReissueRequestRecord> {
    return this.#store.write((state) => planCancelRequest(state, id, reason, at, audit));
  }

  async countOpen(today: string): Promise<OpenRequestCounts> {
    const counts = { pending: 0, overdue: 0 };
    for (const r of await this.#all()) {
      if (r.state !== 'pending') continue;
      if (r.dueDate < today) counts.overdue++;
      else counts.pending++;
    }
    return counts;
  }

  async #all(): Promise<ReissueRequestRecord[]> {
    return [...(await this.#store.readState()).reissueRequests.values()].map((r) => ({ ...r }));
  }
}
