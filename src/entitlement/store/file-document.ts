// The embedded store's on-disk document (DATA_DIR/entitlements.json) and its in-memory form.
// The document carries a format name and version; a newer version is refused rather than
// silently rewritten in an older shape (an older icegate would drop fields it does not know).
// Version 2 added `requestHash` to keys; a version 1 document reads as keys without one.
// Version 3 added the audit trail (`audit`) and `replaces` to keys; older documents read with an
// empty trail and keys that replaced none. Version 3 also carries the reissue-request queue
// (`reissueRequests`, issue 21), optional on read: a version-3 document without it has an empty queue.
import { z } from 'zod';
import { AUDIT_ACTIONS, type AuditAction, type AuditRecord } from './audit.js';
import { StoreError } from './errors.js';
import type { ReissueRequestRecord } from './reissue-requests.js';
import type { StoredOrder, TenantRecord, UsageRow } from './store.js';
import type { StoredKeyFields } from './stored-key.js';

/** The document format this build writes. */
export const FILE_FORMAT = 'icegate-entitlements';
/** The document version this build writes; older versions are upgraded on read. */
export const FILE_VERSION = 3;

/** The whole store in memory. Records are never mutated in place: a write replaces them. */
export interface FileState {
  tenants: Map<string, TenantRecord>;
  /** tenant -> order id -> order */
  orders: Map<string, Map<string, StoredOrder>>;
  keys: Map<string, StoredKeyFields>;
  /** `${tenant}\n${day}` -> row */
  usage: Map<string, UsageRow>;
  /** The audit trail, ascending by seq (1, 2, ...; never removed, so seq = position + 1). */
  audit: readonly AuditRecord[];
  /** Reissue requests by id (issue 21). */
  reissueRequests: Map<string, ReissueRequestRecord>;
}

/** A state with nothing in it (a fresh DATA_DIR). */
export function emptyState(): FileState {
  return {
    tenants: new Map(),
    orders: new Map(),
    keys: new Map(),
    usage: new Map(),
    audit: [],
    reissueRequests: new Map(),
  };
}

/** The map key of a usage row. */
export function usageKey(tenant: string, day: string): string {
  return `${tenant}\n${day}`;
}

const instant = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'not an ISO-8601 instant');
const rejectionCode = z.enum([
  'recontinuation_required',
  'renewal_applies',
  'no_prior_support',
  'already_initialised',
  'no_active_support',
]);

const storedKeyV1 = z.object({
  keyId: z.string(),
  tenant: z.string(),
  serverIdentity: z.string(),
  secret: z.string(),
  issuedAt: instant,
  revokedAt: instant.nullable(),
  replacedBy: z.string().nullable(),
});
const storedKeyV2 = storedKeyV1.extend({ requestHash: z.string().nullable() });
const storedKeyV3 = storedKeyV2.extend({ replaces: z.string().nullable() });
const auditDetail = z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(z.string())]);
const auditRecordV3 = z.object({
  seq: z.number().int().positive(),
  at: instant,
  tenant: z.string().nullable(),
  action: z.enum(AUDIT_ACTIONS as [AuditAction, ...AuditAction[]]),
  outcome: z.enum(['ok', 'no_change', 'refused']),
  actor: z.string(),
  client: z.string().nullable(),
  keyId: z.string().nullable(),
  details: z.record(z.string(), auditDetail),
});

const reissueRequestV3 = z.object({
  id: z.string(),
  tenant: z.string(),
  server: z.string(),
  reference: z.string().nullable(),
  receivedAt: instant,
  dueDate: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  state: z.enum(['pending', 'fulfilled', 'cancelled']),
  fulfilledAt: instant.nullable(),
  onTime: z.boolean().nullable(),
  keyId: z.string().nullable(),
  cancelledAt: instant.nullable(),
  cancelReason: z.string().nullable(),
});

const documentV1 = z.object({
  format: z.literal(FILE_FORMAT),
  version: z.literal(1),
  tenants: z.array(z.object({ id: z.string(), name: z.string().nullable(), createdAt: instant })),
  orders: z.array(
    z.object({
      tenant: z.string(),
      id: z.string(),
      kind: z.enum(['initial', 'renewal', 'recontinuation', 'additional']),
      receivedAt: instant,
      licenses: z.number(),
      certificate: z.object({ start: z.string(), end: z.string() }).optional(),
      importedAt: instant,
      status: z.enum(['accepted', 'rejected']),
      rejection: z.object({ code: rejectionCode, message: z.string() }).nullable(),
    }),
  ),
  keys: z.array(storedKeyV1),
  usage: z.array(
    z.object({
      tenant: z.string(),
      day: z.string(),
      bytesRelayed: z.number(),
      allocationSeconds: z.number(),
    }),
  ),
});

const documentV2 = documentV1.extend({ version: z.literal(2), keys: z.array(storedKeyV2) });
const documentV3 = documentV1.extend({
  version: z.literal(3),
  keys: z.array(storedKeyV3),
  audit: z.array(auditRecordV3),
  reissueRequests: z.array(reissueRequestV3).optional(),
});

/** Any version this build reads. */
const anyDocument = z.discriminatedUnion('version', [documentV1, documentV2, documentV3]);

/** Parses the document text into a state; `store_corrupt` names the file and the problem. */
export function parseDocument(text: string, path: string): FileState {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new StoreError('store_corrupt', `${path} is not valid JSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const version = (json as { version?: unknown } | null)?.version;
  if (typeof version === 'number' && version > FILE_VERSION) {
    throw new StoreError(
      'store_corrupt',
      `${path} has version ${version}, written by a newer icegate; this one reads up to ${FILE_VERSION}`,
    );
  }
  const parsed = anyDocument.safeParse(json);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    const where = first === undefined ? '' : ` at ${first.path.join('.') || '(root)'}: ${first.message}`;
    throw new StoreError('store_corrupt', `${path} is not an icegate entitlement document${where}`);
  }
  const doc = parsed.data;
  const state = emptyState();
  for (const t of doc.tenants)
    state.tenants.set(t.id, { id: t.id, name: t.name, createdAt: new Date(t.createdAt) });
  for (const o of doc.orders) {
    let orders = state.orders.get(o.tenant);
    if (orders === undefined) {
      orders = new Map();
      state.orders.set(o.tenant, orders);
    }
    const order: StoredOrder = { ...o, importedAt: new Date(o.importedAt) };
    if (o.certificate === undefined) delete order.certificate;
    orders.set(o.id, order);
  }
  for (const k of doc.keys) {
    state.keys.set(k.keyId, {
      ...k,
      issuedAt: new Date(k.issuedAt),
      revokedAt: k.revokedAt === null ? null : new Date(k.revokedAt),
      requestHash: 'requestHash' in k ? k.requestHash : null,
      replaces: 'replaces' in k ? k.replaces : null,
    });
  }
  for (const u of doc.usage) state.usage.set(usageKey(u.tenant, u.day), { ...u });
  if ('audit' in doc) {
    const audit = doc.audit.map((r) => ({ ...r, at: new Date(r.at) }));
    audit.sort((a, b) => a.seq - b.seq);
    audit.forEach((r, i) => {
      if (r.seq !== i + 1)
        throw new StoreError('store_corrupt', `${path}: audit record ${i + 1} has seq ${r.seq}`);
    });
    state.audit = audit;
    for (const r of doc.reissueRequests ?? []) {
      state.reissueRequests.set(r.id, {
        ...r,
        receivedAt: new Date(r.receivedAt),
        fulfilledAt: r.fulfilledAt === null ? null : new Date(r.fulfilledAt),
        cancelledAt: r.cancelledAt === null ? null : new Date(r.cancelledAt),
      });
    }
  }
  return state;
}

/** Serialises a state as the current document version. */
export function serialiseDocument(state: FileState): string {
  const doc: z.input<typeof documentV3> = {
    format: FILE_FORMAT,
    version: FILE_VERSION,
    tenants: [...state.tenants.values()].map((t) => ({ ...t, createdAt: t.createdAt.toISOString() })),
    orders: [...state.orders.values()].flatMap((orders) =>
      [...orders.values()].map((o) => ({ ...o, importedAt: o.importedAt.toISOString() })),
    ),
    keys: [...state.keys.values()].map((k) => ({
      ...k,
      issuedAt: k.issuedAt.toISOString(),
      revokedAt: k.revokedAt === null ? null : k.revokedAt.toISOString(),
      requestHash: k.requestHash ?? null,
      replaces: k.replaces ?? null,
    })),
    usage: [...state.usage.values()],
    audit: state.audit.map((r) => ({ ...r, at: r.at.toISOString() })),
    reissueRequests: [...state.reissueRequests.values()].map((r) => ({
      ...r,
      receivedAt: r.receivedAt.toISOString(),
      fulfilledAt: r.fulfilledAt?.toISOString() ?? null,
      cancelledAt: r.cancelledAt?.toISOString() ?? null,
    })),
  };
  return `${JSON.stringify(doc, null, 1)}\n`;
}
